"""Near misses: look like credentials to a naive scanner, hold none."""
import os

import keyring
from ib_insync import IB

IB_PASSWORD = os.environ["IB_PASSWORD"]
TWS_PASSWORD = os.getenv("TWS_PASSWORD")
ib_password = keyring.get_password("ibkr", "maya")
IB_PASSWORD_ENV = "IB_PASSWORD"
password_manager = "os_keychain"
GATEWAY_PORT = 4002
BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
TOTP_LABEL = "IBKR:maya"
ORDER_COLOR = "#F12345"
COMMIT = "4f2a9c0e1b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e"
CONTRACT_DESCRIPTION = "ABCDEFGHJKMNPQRS2345"
IB_PASSWORD_PLACEHOLDER = "<your password>"
TRADING_MODE = "paper"


def login(ib: IB, password: str = "") -> None:
    if password == "":
        password = keyring.get_password("ibkr", "maya") or ""
    ib.connect("127.0.0.1", 7497, clientId=1)


# Seen in real libraries: a PEM header constant and a URI template, no key, no seed.
PEM_START = b"-----BEGIN OPENSSH PRIVATE KEY-----"
OTPAUTH_TEMPLATE = "otpauth://{0}/{1}?{2}"
