// The service worker (offline shell, push notifications) and the Web Push subscription:
// the browser subscribes with the server's VAPID public key and the server keeps the
// subscription for this user (POST /api/v1/push/subscriptions).
import { api } from "./api.js";

export async function registerWorker() {
  if (!("serviceWorker" in navigator)) return null;
  try {
    return await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  } catch (error) {
    return null;  // e.g. plain http on a LAN address: the app works without it
  }
}

export function pushSupported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

function keyBytes(base64url) {
  const padded = base64url.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((base64url.length + 3) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

// "on", "denied", "unavailable" or "failed".
export async function enablePush() {
  if (!pushSupported()) return "unavailable";
  const permission = await Notification.requestPermission();
  if (permission !== "granted") return "denied";
  const registration = await navigator.serviceWorker.ready;
  const key = await api("/api/v1/push/key");
  if (!key.ok) return "unavailable";
  try {
    const subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: keyBytes(key.data.public_key),
    });
    const saved = await api("/api/v1/push/subscriptions", { method: "POST", body: subscription.toJSON() });
    return saved.ok ? "on" : "failed";
  } catch (error) {
    return "failed";
  }
}

export async function pushState() {
  if (!pushSupported()) return "unavailable";
  if (Notification.permission === "denied") return "denied";
  const registration = await navigator.serviceWorker.getRegistration("/");
  const subscription = registration && (await registration.pushManager.getSubscription());
  return subscription ? "on" : "off";
}
