"""A rebalancing bot with its secrets pasted in (test corpus: see ../expected.json)."""
from ib_insync import IB, IBC

IB_PASSWORD = "Tr4ding-Hunter-42"
TOTP_SEED = "JBSWY3DPEHPK3PXPQ4ZA"
ACCOUNT = "U7654321"
ibc = IBC(1012, gateway=True, tradingMode="live", userid="maya", password="S3cret-Pass!")
uri = "otpauth://totp/IBKR:maya?secret=JBSWY3DPEHPK3PXP&issuer=IBKR"
consumer_key = "MAYACONSK"
access_token_secret = "b3JhbmdlLXRva2VuLXNlY3JldC1mb3ItdGVzdHM="
headers = {"Cookie": "x-sess-uuid=0.1a2b3c4d.1700000000.abcdef12"}


def main() -> None:
    ib = IB()
    ib.reqAccountSummary("DU1234567")
