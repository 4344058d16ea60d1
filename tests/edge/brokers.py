"""Mosquitto variants for runtime tests, built on tests.servers.Mosquitto (which already
keeps sessions and retained messages across stop/start, also when run as root)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.servers import Mosquitto, free_port, port_open


class DurableMosquitto(Mosquitto):
    def extra_config(self) -> str:
        return ""

    def command(self) -> list[str]:
        command = super().command()
        config = Path(command[-1])
        config.write_text(config.read_text() + self.extra_config())
        return command


class PasswordMosquitto(DurableMosquitto):
    """Anonymous clients refused; one user `agent` with password `s3cret:pw`."""

    username = "agent"
    password = "s3cret:pw"

    def extra_config(self) -> str:
        passwords = self.workdir / "passwords"
        if not passwords.exists():
            passwords.write_text("")
            subprocess.run(
                ["mosquitto_passwd", "-b", str(passwords), self.username, self.password],
                check=True,
                capture_output=True,
            )
        return super().extra_config() + f"password_file {passwords}\n"

    def command(self) -> list[str]:
        command = super().command()
        config = Path(command[-1])
        config.write_text(
            config.read_text().replace("allow_anonymous true", "allow_anonymous false")
        )
        return command


class TlsMosquitto(DurableMosquitto):
    """TLS on `port` (server cert for 127.0.0.1, client certificate required) and plain
    MQTT on `plain_port` for the test's own clients."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.plain_port = free_port()
        self.certs = make_certificates(workdir / "certs")

    def extra_config(self) -> str:
        certs = self.certs
        return super().extra_config() + (
            f"listener {self.port} 127.0.0.1\n"
            f"cafile {certs / 'ca.pem'}\n"
            f"certfile {certs / 'server.pem'}\n"
            f"keyfile {certs / 'server.key'}\n"
            "require_certificate true\n"
        )

    def command(self) -> list[str]:
        command = super().command()
        config = Path(command[-1])
        # The base listener becomes the plain one; the TLS listener is added after it.
        config.write_text(
            config.read_text().replace(
                f"listener {self.port} 127.0.0.1\n", f"listener {self.plain_port} 127.0.0.1\n", 1
            )
        )
        return command

    def ready(self) -> bool:
        return port_open(self.port) and port_open(self.plain_port)


def make_certificates(directory: Path) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate (openssl CLI)."""
    directory.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=directory)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=storesense test CA")  # fmt: skip
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, ext in (("server", ["-extfile", "san.ext"]), ("client", [])):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
                "-out", f"{name}.csr", "-subj", f"/CN={name}")  # fmt: skip
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-out", f"{name}.pem", *ext)  # fmt: skip
    return directory
