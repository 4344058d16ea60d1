import { login } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";

export function loginView(root, { onSignedIn, languageButton }) {
  const message = h("p", { class: "error", role: "alert" });
  const username = h("input", { id: "login-username", name: "username", autocomplete: "username", required: true, autocapitalize: "none" });
  const password = h("input", { id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit", class: "primary", id: "login-submit" }, t("signIn"));
  const form = h("form", { class: "login", onsubmit: async (event) => {
    event.preventDefault();
    submit.disabled = true;
    message.textContent = "";
    const result = await login(username.value.trim(), password.value);
    submit.disabled = false;
    if (result.ok) return onSignedIn();
    if (result.status === 401) message.textContent = t("badLogin");
    else if (result.status === 429) message.textContent = t("limited", { s: result.retryAfter || 60 });
    else message.textContent = t("loginFailed", { status: result.status });
  } },
    h("img", { src: "/icons/icon-192.png", alt: "", class: "logo", width: 72, height: 72 }),
    h("h1", {}, t("app")),
    h("label", { for: "login-username" }, t("username")), username,
    h("label", { for: "login-password" }, t("password")), password,
    submit, message, languageButton());
  root.append(form);
  username.focus();
  return () => {};
}
