"""Sub-account calls: key IP restriction, universal transfer and its history, the sub-account list (all "For
Master Account"), and a sub-account's own transfer history ("For Sub-account").

Rules and sources: /tmp/notes/binance-rules.md (binance-connector-python sub_account SDK docstrings, swagger).
"""

from __future__ import annotations

import itertools

from keyguard.sandbox import errors, rules
from keyguard.sandbox.exchange import SandboxExchange
from keyguard.sandbox.gateway import SIGNED, Call, Endpoint
from keyguard.sandbox.ledger import WalletRecord, fmt

TRADE = "enableSpotAndMarginTrading"
TRANSFER = "enableInternalTransfer"
IP_RESTRICTION = "/sapi/v1/sub-account/subAccountApi/ipRestriction"
UNIVERSAL_TRANSFER = "/sapi/v1/sub-account/universalTransfer"
DAY_MS = rules.DAY_MS


def endpoints(exchange: SandboxExchange) -> list[Endpoint]:
    ledger = exchange.ledger
    transfer_ids = itertools.count(90_000_001)

    def master_of(call: Call):
        """The calling key's account, which must be a master account (one without a master of its own)."""
        assert call.key
        account = exchange.account_of(call.key)
        if account.master is not None:
            raise rules.master_only()
        return account

    def sub_account_key(call: Call):
        master = master_of(call)
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
        """ "Add IP Restriction": status 2 ADDS `ipAddress` to the key's list; status 1 lifts the restriction."""
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
        master = master_of(call)
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

    def sub_transfers(start: int, end: int) -> list[WalletRecord]:
        return [r for r in ledger.wallet if r.kind == "sub_transfer" and start <= r.time <= end]

    def transfer_history(call: Call) -> dict:
        master = master_of(call)
        from_email, to_email = call.get("fromEmail"), call.get("toEmail")
        if from_email and to_email:  # "fromEmail and toEmail cannot be sent at the same time" (code not documented)
            raise rules.bad_combination()
        # "The query time range must be less than 7 days"; "If startTime and endTime are omitted, records from the
        # last 7 days are returned by default" (SDK 2026; the 2024 swagger said 30 days).
        start, end = rules.window(call, default_ms=7 * DAY_MS, max_ms=7 * DAY_MS)
        page, limit = rules.bounded(call, "page", 1, 1, 2**31 - 1), rules.bounded(call, "limit", 500, 1, 500)
        client_tran_id = call.get("clientTranId")
        rows = [
            r
            for r in sub_transfers(start, end)
            if r.account == master.name
            # "If both fromEmail and toEmail are omitted, records with fromEmail equal to the master account are
            # returned by default"
            and (r.extra["fromEmail"] == from_email if from_email else to_email or r.extra["fromEmail"] == master.email)
            and (to_email is None or r.extra["toEmail"] == to_email)
            and (client_tran_id is None or r.extra["clientTranId"] == client_tran_id)
        ]
        chosen = rules.page(sorted(rows, key=lambda r: r.time, reverse=True), page, limit)
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

    def sub_account_list(call: Call) -> dict:
        master = master_of(call)
        email, frozen = call.get("email"), call.get("isFreeze")
        if frozen not in (None, "true", "false"):
            raise errors.BinanceError(-1100, "Illegal characters found in parameter 'isFreeze'.")
        # "limit: Default 1; max 200" (swagger): without `limit` one sub-account per page.
        page, limit = rules.bounded(call, "page", 1, 1, 2**31 - 1), rules.bounded(call, "limit", 1, 1, 200)
        subs = [
            a
            for a in ledger.accounts.values()
            if a.master == master.name
            and email in (None, a.email)
            and frozen in (None, "true" if a.status != "Normal" else "false")
        ]
        return {
            "subAccounts": [
                {
                    "subUserId": a.uid,
                    "email": a.email,
                    "remark": "",
                    "isFreeze": a.status != "Normal",
                    "createTime": a.created_ms,
                    "isManagedSubAccount": False,
                    "isAssetManagementSubAccount": False,
                }
                for a in rules.page(sorted(subs, key=lambda a: a.uid), page, limit)
            ]
        }

    def sub_user_history(call: Call) -> list:
        """A sub-account's own transfers. "If type is not sent, records of type 2 (transfer out) are returned by
        default"; "If startTime and endTime are not sent, data from the most recent 30 days is returned"."""
        assert call.key
        me = exchange.account_of(call.key)
        if me.master is None:
            raise rules.master_only()
        direction = rules.bounded(call, "type", 2, 1, 2)
        start, end = rules.window(call, default_ms=30 * DAY_MS)
        limit = rules.bounded(call, "limit", 500, 1, 1000)
        asset = call.get("asset")
        mine, theirs = ("toEmail", "fromEmail") if direction == 1 else ("fromEmail", "toEmail")
        master = ledger.accounts[me.master]
        rows = [r for r in sub_transfers(start, end) if r.extra[mine] == me.email and asset in (None, r.asset)]
        rows.sort(key=lambda r: r.time, reverse=True)
        return [
            {
                "counterParty": "master" if r.extra[theirs] == master.email else "subAccount",
                "email": r.extra[theirs],
                "type": direction,
                "asset": r.asset,
                "qty": fmt(r.amount),
                "fromAccountType": r.extra["fromAccountType"],
                "toAccountType": r.extra["toAccountType"],
                "status": "SUCCESS",
                "tranId": int(r.id),
                "time": r.time,
            }
            for r in rows[:limit]
        ]

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
        Endpoint("GET", "/sapi/v1/sub-account/list", SIGNED, 1, sub_account_list, "enableReading"),
        Endpoint("GET", "/sapi/v1/sub-account/transfer/subUserHistory", SIGNED, 1, sub_user_history, "enableReading"),
    ]
