"""Wallet and key introspection under /sapi (binance-api.md §2.1, §2.3, §2.4, §3)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from keyguard.sandbox import errors, rules
from keyguard.sandbox.exchange import SandboxExchange
from keyguard.sandbox.gateway import SIGNED, Call, Endpoint
from keyguard.sandbox.ledger import WalletRecord, address_book_entry, fmt

DAY_MS = rules.DAY_MS
READ = "enableReading"
# GET /sapi/v1/asset/transfer `type`: the swagger enum (spot_api.yaml v1.22.0) united with the SDK's newer
# UserUniversalTransferTypeEnum (binance-connector-python wallet models/enums.py).
TRANSFER_TYPES = frozenset(
    [
        "MAIN_C2C",
        "MAIN_UMFUTURE",
        "MAIN_CMFUTURE",
        "MAIN_MARGIN",
        "MAIN_MINING",
        "C2C_MAIN",
        "C2C_UMFUTURE",
        "C2C_MINING",
        "C2C_MARGIN",
        "UMFUTURE_MAIN",
        "UMFUTURE_C2C",
        "UMFUTURE_MARGIN",
        "CMFUTURE_MAIN",
        "CMFUTURE_MARGIN",
        "MARGIN_MAIN",
        "MARGIN_UMFUTURE",
        "MARGIN_CMFUTURE",
        "MARGIN_MINING",
        "MARGIN_C2C",
        "MINING_MAIN",
        "MINING_UMFUTURE",
        "MINING_C2C",
        "MINING_MARGIN",
        "MAIN_PAY",
        "PAY_MAIN",
        "ISOLATEDMARGIN_MARGIN",
        "MARGIN_ISOLATEDMARGIN",
        "ISOLATEDMARGIN_ISOLATEDMARGIN",
        "MAIN_FUNDING",
        "FUNDING_MAIN",
        "FUNDING_UMFUTURE",
        "UMFUTURE_FUNDING",
        "MARGIN_FUNDING",
        "FUNDING_MARGIN",
        "FUNDING_CMFUTURE",
        "CMFUTURE_FUNDING",
        "MAIN_OPTION",
        "OPTION_MAIN",
        "UMFUTURE_OPTION",
        "OPTION_UMFUTURE",
        "MARGIN_OPTION",
        "OPTION_MARGIN",
        "FUNDING_OPTION",
        "OPTION_FUNDING",
        "MAIN_PORTFOLIO_MARGIN",
        "PORTFOLIO_MARGIN_MAIN",
    ]
)
FROM_SYMBOL_TYPES = {"ISOLATEDMARGIN_MARGIN", "ISOLATEDMARGIN_ISOLATEDMARGIN"}
TO_SYMBOL_TYPES = {"MARGIN_ISOLATEDMARGIN", "ISOLATEDMARGIN_ISOLATEDMARGIN"}
MAX_ID_LIST = 45


def _page(rows: list, call: Call) -> dict:
    """Simple Earn and asset/transfer paging: `current` from 1 (default 1), `size` default 10, max 100."""
    current = rules.bounded(call, "current", 1, 1, 2**31 - 1)
    size = rules.bounded(call, "size", 10, 1, 100)
    return {"rows": rules.page(rows, current, size), "total": len(rows)}


def endpoints(exchange: SandboxExchange) -> list[Endpoint]:
    ledger = exchange.ledger

    def account_of(call: Call):
        assert call.key
        return exchange.account_of(call.key)

    def records(call: Call, kind: str, start: int, end: int) -> list[WalletRecord]:
        coin = call.get("coin")
        assert call.key
        return [
            r
            for r in ledger.wallet
            if r.kind == kind
            and r.account == call.key.account
            and start <= r.time <= end
            and (coin is None or r.asset == coin)
        ]

    def capital_window(call: Call, days: int) -> tuple[int, int]:
        """Deposit/withdraw history: default the last 90 days; startTime-endTime "must be less than 90 days"."""
        return rules.window(call, default_ms=days * DAY_MS, max_ms=days * DAY_MS, too_long=rules.capital_interval)

    def offset_limit(rows: list, call: Call) -> list:
        """At most `limit` rows (default 1000, max 1000) from `offset` (default 0): page until fewer come back."""
        offset = rules.bounded(call, "offset", 0, 0, 2**31 - 1)
        limit = rules.bounded(call, "limit", 1000, 1, 1000)
        return rows[offset : offset + limit]

    def withdraw_history(call: Call) -> list:
        # "If withdrawOrderId is sent, time between startTime and endTime must be less than 7 days" (and 7 by default).
        order_id = call.get("withdrawOrderId")
        rows = records(call, "withdrawal", *capital_window(call, 7 if order_id else 90))
        id_list = [i for i in (call.get("idList") or "").split(",") if i]
        if len(id_list) > MAX_ID_LIST:
            raise errors.BinanceError(
                -1100, f"Illegal characters found in parameter 'idList'; legal range is '1-{MAX_ID_LIST}'."
            )
        status = call.integer("status")
        rows = [
            r
            for r in rows
            if (status is None or r.extra["status"] == status)
            and (order_id is None or r.extra.get("withdrawOrderId") == order_id)
            and (not id_list or r.id in id_list)
        ]
        return [
            {
                "id": r.id,
                "amount": fmt(r.amount),
                "transactionFee": r.extra.get("fee", "0"),
                "coin": r.asset,
                "status": r.extra["status"],
                "address": r.extra["address"],
                "txId": r.extra.get("txId", ""),
                "applyTime": datetime.fromtimestamp(r.time / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S"),
                "network": r.extra.get("network", r.asset),
                "transferType": 0,
                "info": "",
                "confirmNo": 3,
                "walletType": 0,
                "txKey": "",
                "completeTime": r.extra.get("completeTime", ""),
            }
            | ({"withdrawOrderId": r.extra["withdrawOrderId"]} if "withdrawOrderId" in r.extra else {})
            for r in offset_limit(sorted(rows, key=lambda r: r.time, reverse=True), call)
        ]

    def deposit_history(call: Call) -> list:
        rows = records(call, "deposit", *capital_window(call, 90))
        status = call.integer("status")
        rows = [r for r in rows if status is None or status == 1]
        return [
            {
                "id": r.id,
                "amount": fmt(r.amount),
                "coin": r.asset,
                "network": r.extra.get("network", r.asset),
                "status": 1,
                "address": r.extra["address"],
                "addressTag": "",
                "txId": r.extra.get("txId", ""),
                "insertTime": r.time,
                "transferType": 0,
                "unlockConfirm": "12/12",
                "confirmTimes": "12/12",
                "walletType": 0,
            }
            for r in offset_limit(sorted(rows, key=lambda r: r.time, reverse=True), call)
        ]

    def withdraw_apply(call: Call) -> dict:
        acct = account_of(call)
        coin, address = call.required("coin"), call.required("address")
        amount = call.decimal("amount")
        if amount is None:
            raise errors.mandatory("amount")
        network = call.get("network", coin)
        order_id = {"withdrawOrderId": call.get("withdrawOrderId")} if call.get("withdrawOrderId") else {}
        record = ledger.withdraw(acct.name, coin, amount, address, network, call.now, **order_id)
        name = call.get("name")  # "Description of the address. Address book cap is 200": the address is saved
        if name and address not in {e["address"] for e in acct.address_book} and len(acct.address_book) < 200:
            # saved, not whitelisted: that takes the website and 2FA
            acct.address_book.append(address_book_entry(address, coin, network, name, whitelisted=False))
        return {"id": record.id}

    def address_book(call: Call) -> list:
        return list(account_of(call).address_book)

    def transfer_history(call: Call) -> dict:
        transfer_type = call.required("type")
        if transfer_type not in TRANSFER_TYPES:
            raise errors.BinanceError(-1100, "Illegal characters found in parameter 'type'.")
        if transfer_type in FROM_SYMBOL_TYPES:
            call.required("fromSymbol")
        if transfer_type in TO_SYMBOL_TYPES:
            call.required("toSymbol")
        # "Support query within the last 6 months only"; "If startTime and endTime not sent, return records of the
        # last 7 days by default". No maximum span is documented.
        span = rules.window(call, default_ms=7 * DAY_MS, horizon_ms=180 * DAY_MS)
        rows = [r for r in records(call, "transfer", *span) if r.extra["type"] == transfer_type]
        page = _page(sorted(rows, key=lambda r: r.time, reverse=True), call)
        page["rows"] = [
            {
                "asset": r.asset,
                "amount": fmt(r.amount),
                "type": r.extra["type"],
                "status": "CONFIRMED",
                "tranId": int(r.id),
                "timestamp": r.time,
            }
            for r in page["rows"]
        ]
        return page

    def universal_transfer(call: Call) -> dict:
        acct = account_of(call)
        transfer_type, asset = call.required("type"), call.required("asset")
        amount = call.decimal("amount")
        if transfer_type not in TRANSFER_TYPES or amount is None:
            raise errors.mandatory("type" if amount else "amount")
        source = acct.balance(asset)
        if not transfer_type.startswith("MAIN_") or source.free < amount:
            raise errors.BinanceError(-5002, "You have insufficient balance.")
        source.free -= amount
        target = acct.futures if transfer_type == "MAIN_UMFUTURE" else acct.funding
        target[asset] = target.get(asset, Decimal(0)) + amount
        tran_id = str(10_000_000 + len(ledger.wallet))
        ledger.wallet.append(
            WalletRecord("transfer", tran_id, acct.name, asset, amount, call.now, {"type": transfer_type})
        )
        ledger.balance_update(acct.name, asset, -amount, call.now)
        return {"tranId": int(tran_id)}

    def snapshot(call: Call) -> dict:
        kind = call.required("type")
        if kind not in ("SPOT", "MARGIN", "FUTURES"):
            raise errors.BinanceError(-1100, "Illegal characters found in parameter 'type'.")
        limit = rules.bounded(call, "limit", 7, 7, 30)
        # "The query time period must be less than 30 days"; "Support query within the last one month only";
        # "If startTime and endTime not sent, return records of the last 7 days by default".
        start, end = rules.window(call, default_ms=7 * DAY_MS, max_ms=30 * DAY_MS, horizon_ms=30 * DAY_MS)
        acct = account_of(call)
        days = [s for s in ledger.snapshots.get(acct.name, []) if start <= s[0] <= end][:limit]
        vos = []
        for day_end, balances in days:
            if kind == "SPOT":
                data = {
                    "totalAssetOfBtc": "0",
                    "balances": [{"asset": a, "free": fmt(v), "locked": "0"} for a, v in sorted(balances.items())],
                }
            elif kind == "FUTURES":
                data = {
                    "assets": [
                        {"asset": a, "marginBalance": fmt(v), "walletBalance": fmt(v)}
                        for a, v in sorted(acct.futures.items())
                    ],
                    "position": [],
                }
            else:
                data = {
                    "marginLevel": "0",
                    "totalAssetOfBtc": "0",
                    "totalLiabilityOfBtc": "0",
                    "totalNetAssetOfBtc": "0",
                    "userAssets": [],
                }
            vos.append({"type": kind.lower(), "updateTime": day_end, "data": data})
        return {"code": 200, "msg": "", "snapshotVos": vos}

    def config_getall(call: Call) -> list:
        acct = account_of(call)
        assets = sorted(
            {
                *acct.balances,
                *(s.base for s in ledger.symbols.values()),
                *(s.quote for s in ledger.symbols.values()),
            }
        )
        return [
            {
                "coin": a,
                "name": a,
                "depositAllEnable": True,
                "withdrawAllEnable": True,
                "isLegalMoney": False,
                "trading": True,
                "free": fmt(acct.balance(a).free),
                "locked": fmt(acct.balance(a).locked),
                "freeze": "0",
                "withdrawing": "0",
                "ipoing": "0",
                "ipoable": "0",
                "storage": "0",
                "networkList": [
                    {
                        "network": a,
                        "coin": a,
                        "name": a,
                        "isDefault": True,
                        "depositEnable": True,
                        "withdrawEnable": True,
                        "withdrawFee": "0",
                        "withdrawMin": "0",
                        "withdrawMax": "9999999999.99999999",
                        "withdrawIntegerMultiple": "0.00000001",
                        "minConfirm": 1,
                        "unLockConfirm": 0,
                        "addressRegex": "",
                        "memoRegex": "",
                        "depositDesc": "",
                        "withdrawDesc": "",
                        "specialTips": "",
                        "sameAddress": False,
                    }
                ],
            }
            for a in assets
        ]

    def user_asset(call: Call) -> list:
        acct = account_of(call)
        only = call.get("asset")
        return [
            {
                "asset": a,
                "free": fmt(b.free),
                "locked": fmt(b.locked),
                "freeze": "0",
                "withdrawing": "0",
                "ipoable": "0",
                "btcValuation": "0",
            }
            for a, b in sorted(acct.balances.items())
            if (b.free > 0 or b.locked > 0) and (only is None or a == only)
        ]

    def wallet_balance(call: Call) -> list:
        acct = account_of(call)
        spot = sum((b.free + b.locked for b in acct.balances.values()), Decimal(0))
        return [
            {"activate": True, "balance": fmt(spot), "walletName": "Spot"},
            {
                "activate": True,
                "balance": fmt(sum(acct.funding.values(), Decimal(0))),
                "walletName": "Funding",
            },
            {
                "activate": True,
                "balance": fmt(sum(acct.futures.values(), Decimal(0))),
                "walletName": "USDⓈ-M Futures",
            },
            {
                "activate": True,
                "balance": fmt(
                    sum(acct.earn_flexible.values(), Decimal(0)) + sum(acct.earn_locked.values(), Decimal(0))
                ),
                "walletName": "Earn",
            },
        ]

    def flexible(call: Call) -> dict:
        acct = account_of(call)
        rows = [
            {
                "totalAmount": fmt(v),
                "tierAnnualPercentageRate": {},
                "latestAnnualPercentageRate": "0.02",
                "yesterdayAirdropPercentageRate": "0",
                "asset": a,
                "airDropAsset": "",
                "canRedeem": True,
                "collateralAmount": "0",
                "productId": f"{a}001",
                "yesterdayRealTimeRewards": "0",
                "cumulativeBonusRewards": "0",
                "cumulativeRealTimeRewards": "0",
                "cumulativeTotalRewards": "0",
                "autoSubscribe": True,
            }
            for a, v in sorted(acct.earn_flexible.items())
            if call.get("asset") in (None, a)
        ]
        return _page(rows, call)

    def locked(call: Call) -> dict:
        acct = account_of(call)
        rows = [
            {
                "positionId": str(i + 1),
                "parentPositionId": "0",
                "projectId": f"{a}*90",
                "asset": a,
                "amount": fmt(v),
                "purchaseTime": "0",
                "duration": "90",
                "accrualDays": "1",
                "rewardAsset": a,
                "APY": "0.05",
                "rewardAmt": "0",
                "extraRewardAsset": a,
                "extraRewardAPR": "0",
                "estExtraRewardAmt": "0",
                "nextPay": "0",
                "nextPayDate": "0",
                "payPeriod": "1",
                "redeemAmountEarly": "0",
                "rewardsEndDate": "0",
                "deliverDate": "0",
                "redeemPeriod": "1",
                "redeemingAmt": "0",
                "redeemTo": "SPOT",
                "partialAmtDeliverDate": "0",
                "canRedeemEarly": True,
                "canFastRedemption": False,
                "autoSubscribe": False,
                "type": "NORMAL",
                "status": "HOLDING",
                "canReStake": False,
            }
            for i, (a, v) in enumerate(sorted(acct.earn_locked.items()))
            if call.get("asset") in (None, a)
        ]
        return _page(rows, call)

    def isolated_margin(call: Call) -> dict:
        """No sandbox account holds isolated margin: the documented shape, with no pairs."""
        symbols = [x for x in (call.get("symbols") or "").split(",") if x]
        if len(symbols) > 5:  # "Max 5 symbols can be sent; separated by ','" (swagger); code not documented
            raise errors.BinanceError(-1100, "Illegal characters found in parameter 'symbols'; legal range is '1-5'.")
        zero = "0.00000000"
        return {"assets": [], "totalAssetOfBtc": zero, "totalLiabilityOfBtc": zero, "totalNetAssetOfBtc": zero}

    def restrictions(call: Call) -> dict:
        assert call.key
        return call.key.restrictions()

    def trading_status(call: Call) -> dict:
        return {
            "data": {
                "isLocked": False,
                "plannedRecoverTime": 0,
                "triggerCondition": {"GCR": 150, "IFER": 150, "UFR": 300},
                "indicators": {},
                "updateTime": 0,
            }
        }

    return [
        Endpoint("GET", "/sapi/v1/account/apiRestrictions", SIGNED, 1, restrictions),
        Endpoint("GET", "/sapi/v1/account/status", SIGNED, 1, lambda call: {"data": "Normal"}, READ),
        Endpoint("GET", "/sapi/v1/account/apiTradingStatus", SIGNED, 1, trading_status, READ),
        Endpoint("GET", "/sapi/v1/capital/config/getall", SIGNED, 10, config_getall, READ),
        Endpoint("GET", "/sapi/v1/capital/withdraw/history", SIGNED, 0, withdraw_history, READ, uid_weight=18000),
        Endpoint("GET", "/sapi/v1/capital/deposit/hisrec", SIGNED, 1, deposit_history, READ),
        Endpoint("GET", "/sapi/v1/capital/withdraw/address/list", SIGNED, 10, address_book, READ),
        Endpoint(
            "POST",
            "/sapi/v1/capital/withdraw/apply",
            SIGNED,
            0,
            withdraw_apply,
            "enableWithdrawals",
            uid_weight=600,
            required=("coin", "address", "amount"),
        ),
        Endpoint("GET", "/sapi/v1/accountSnapshot", SIGNED, 2400, snapshot, READ, required=("type",)),
        Endpoint("GET", "/sapi/v1/asset/transfer", SIGNED, 1, transfer_history, READ, required=("type",)),
        Endpoint(
            "POST",
            "/sapi/v1/asset/transfer",
            SIGNED,
            0,
            universal_transfer,
            "permitsUniversalTransfer",
            uid_weight=300,
            required=("type", "asset", "amount"),
        ),
        Endpoint("POST", "/sapi/v3/asset/getUserAsset", SIGNED, 5, user_asset, READ),
        Endpoint("GET", "/sapi/v1/asset/wallet/balance", SIGNED, 60, wallet_balance, READ),
        Endpoint("GET", "/sapi/v1/simple-earn/flexible/position", SIGNED, 150, flexible, READ),
        Endpoint("GET", "/sapi/v1/simple-earn/locked/position", SIGNED, 150, locked, READ),
        Endpoint("GET", "/sapi/v1/margin/isolated/account", SIGNED, 10, isolated_margin, READ),
    ]
