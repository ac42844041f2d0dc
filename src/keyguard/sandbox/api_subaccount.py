"""Master-account calls on sub-accounts: key IP restriction (binance-api.md §3) and universal transfer.

The universal-transfer endpoints are not in binance-api.md; they follow Binance's "Universal Transfer
(For Master Account)" shape so audits can see money moved to a sub-account.
"""

from __future__ import annotations

import itertools

from keyguard.sandbox import errors
from keyguard.sandbox.exchange import SandboxExchange
from keyguard.sandbox.gateway import SIGNED, Call, Endpoint
from keyguard.sandbox.ledger import WalletRecord, fmt

TRADE = "enableSpotAndMarginTrading"
TRANSFER = "enableInternalTransfer"
IP_RESTRICTION = "/sapi/v1/sub-account/subAccountApi/ipRestriction"
UNIVERSAL_TRANSFER = "/sapi/v1/sub-account/universalTransfer"


def endpoints(exchange: SandboxExchange) -> list[Endpoint]:
    ledger = exchange.ledger
    transfer_ids = itertools.count(90_000_001)

    def sub_account_key(call: Call):
        assert call.key
        master = exchange.account_of(call.key)
        email, api_key = call.required("email"), call.required("subAccountApiKey")
        sub = next((a for a in ledger.accounts.values() if a.email == email and a.master == master.name), None)
        key = exchange.keys.get(api_key)
        if sub is None or key is None or key.account != sub.name:
            raise errors.BinanceError(-12022, "The sub-account API key does not exist.")
        return key

    def ip_body(key) -> dict:
        return {
            "ipRestrict": "true" if key.ip_whitelist else "false",
            "ipList": list(key.ip_whitelist),
            "updateTime": exchange.clock.now_ms(),
            "apiKey": key.api_key,
        }

    def get_ip(call: Call) -> dict:
        return ip_body(sub_account_key(call))

    def set_ip(call: Call) -> dict:
        key = sub_account_key(call)
        status = call.required("status")
        if status not in ("1", "2", "3"):
            raise errors.BinanceError(-1100, "Illegal characters found in parameter 'status'.")
        addresses = [a.strip() for a in (call.get("ipAddress") or "").split(",") if a.strip()]
        key.ip_whitelist = [] if status == "1" else sorted(set(key.ip_whitelist) | set(addresses))
        body = ip_body(key)
        body["status"] = status
        del body["ipRestrict"]
        return body

    def delete_ip(call: Call) -> dict:
        key = sub_account_key(call)
        removed = {a.strip() for a in call.required("ipAddress").split(",")}
        key.ip_whitelist = [a for a in key.ip_whitelist if a not in removed]
        return ip_body(key)

    def account_by_email(email: str):
        return next((a for a in ledger.accounts.values() if a.email == email), None)

    def universal_transfer(call: Call) -> dict:
        assert call.key
        master = exchange.account_of(call.key)
        source = account_by_email(call.get("fromEmail") or master.email)
        target = account_by_email(call.get("toEmail") or master.email)
        family = {master.name} | {a.name for a in ledger.accounts.values() if a.master == master.name}
        if source is None or target is None or not {source.name, target.name} <= family or source is target:
            raise errors.BinanceError(-12022, "The sub-account does not exist or does not belong to this master.")
        asset = call.required("asset")
        amount = call.decimal("amount")
        if amount is None:
            raise errors.mandatory("amount")
        if source.balance(asset).free < amount:
            raise errors.BinanceError(-5002, "You have insufficient balance.")
        source.balance(asset).free -= amount
        target.balance(asset).free += amount
        tran_id = next(transfer_ids)
        record = WalletRecord(
            "sub_transfer",
            str(tran_id),
            master.name,
            asset,
            amount,
            call.now,
            {
                "fromEmail": source.email,
                "toEmail": target.email,
                "clientTranId": call.get("clientTranId", ""),
                "fromAccountType": call.required("fromAccountType"),
                "toAccountType": call.required("toAccountType"),
            },
        )
        ledger.wallet.append(record)
        ledger.balance_update(source.name, asset, -amount, call.now)
        ledger.balance_update(target.name, asset, amount, call.now)
        return {"tranId": tran_id, "clientTranId": record.extra["clientTranId"]}

    def transfer_history(call: Call) -> dict:
        assert call.key
        master = exchange.account_of(call.key)
        start = call.integer("startTime", call.now - 30 * 86_400_000)
        end = call.integer("endTime", call.now)
        rows = [
            r
            for r in ledger.wallet
            if r.kind == "sub_transfer"
            and r.account == master.name
            and start <= r.time <= end  # type: ignore[operator]
            and call.get("fromEmail") in (None, r.extra["fromEmail"])
            and call.get("toEmail") in (None, r.extra["toEmail"])
        ]
        page, limit = max(call.integer("page", 1) or 1, 1), min(call.integer("limit", 500) or 500, 500)
        chosen = sorted(rows, key=lambda r: r.time, reverse=True)[(page - 1) * limit : page * limit]
        return {
            "result": [
                {
                    "tranId": int(r.id),
                    "fromEmail": r.extra["fromEmail"],
                    "toEmail": r.extra["toEmail"],
                    "asset": r.asset,
                    "amount": fmt(r.amount),
                    "createTimeStamp": r.time,
                    "fromAccountType": r.extra["fromAccountType"],
                    "toAccountType": r.extra["toAccountType"],
                    "status": "SUCCESS",
                    "clientTranId": r.extra["clientTranId"],
                }
                for r in chosen
            ],
            "totalCount": len(rows),
        }

    return [
        Endpoint("GET", IP_RESTRICTION, SIGNED, 0, get_ip, uid_weight=3000, required=("email", "subAccountApiKey")),
        Endpoint(
            "POST",
            "/sapi/v2/sub-account/subAccountApi/ipRestriction",
            SIGNED,
            0,
            set_ip,
            TRADE,
            uid_weight=3000,
            required=("email", "subAccountApiKey", "status"),
        ),
        Endpoint(
            "DELETE",
            IP_RESTRICTION + "/ipList",
            SIGNED,
            0,
            delete_ip,
            TRADE,
            uid_weight=3000,
            required=("email", "subAccountApiKey", "ipAddress"),
        ),
        Endpoint(
            "POST",
            UNIVERSAL_TRANSFER,
            SIGNED,
            360,
            universal_transfer,
            TRANSFER,
            required=("fromAccountType", "toAccountType", "asset", "amount"),
        ),
        Endpoint("GET", UNIVERSAL_TRANSFER, SIGNED, 1, transfer_history, "enableReading"),
    ]
