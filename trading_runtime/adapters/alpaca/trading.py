"""The broker: orders, positions, account and clock through alpaca-py's ``TradingClient``.

Synchronous (alpaca-py's REST is): the engine calls it through ``asyncio.to_thread``. Every
request gets a timeout (alpaca-py sets none) through :class:`TimeoutSession`. Errors are
translated into :mod:`trading_runtime.adapters.alpaca.errors`.

Submission is idempotent by ``client_order_id``: when the outcome of a submission is
ambiguous (timeout, 5xx, 429 after alpaca-py's retries) the order is looked up by its
``client_order_id`` before anything is raised, and a resubmission that the broker refuses
as a duplicate returns the order that already exists. A TransientBrokerError out of
:meth:`AlpacaBroker.submit_order` therefore means "outcome unknown": the caller keeps the
order pending confirmation and resolves it by ``client_order_id`` (or resubmits it with the
same id), never records it as refused.

Restart reads: :meth:`AlpacaBroker.orders_since` (every order created after a moment) and
:meth:`AlpacaBroker.fills_since` (``GET /v2/account/activities?activity_types=FILL``, each
execution with its real id; None when the broker does not serve activities).
:meth:`AlpacaBroker.assets` lists the broker's assets (None when it serves none).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, cast

import requests
from alpaca.common.enums import Sort
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import AssetClass, AssetStatus, QueryOrderStatus
from alpaca.trading.enums import OrderSide as AlpacaOrderSide
from alpaca.trading.enums import TimeInForce as AlpacaTimeInForce
from alpaca.trading.models import Asset, Clock, Order, TradeAccount
from alpaca.trading.models import Position as AlpacaPosition
from alpaca.trading.requests import (
    CancelOrderResponse,
    GetAssetsRequest,
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
)

from trading_runtime.adapters.alpaca import parsing
from trading_runtime.adapters.alpaca.config import AlpacaEndpoints
from trading_runtime.adapters.alpaca.errors import (
    BrokerError,
    OrderNotFoundError,
    OrderRejectedError,
    TransientBrokerError,
    translate_error,
)
from trading_runtime.adapters.alpaca.parsing import MarketClock
from trading_runtime.domain.enums import OrderType
from trading_runtime.domain.orders import Fill, OrderIntent, OrderSnapshot
from trading_runtime.domain.portfolio import AccountSnapshot, Position

log = logging.getLogger(__name__)

MAX_OPEN_ORDERS = 500
MAX_ORDERS_PAGE = 500
ACTIVITIES_PAGE = 100
_DUPLICATE_CLIENT_ORDER_ID = "client_order_id must be unique"
_TRANSLATED = (APIError, requests.RequestException)


class TimeoutSession(requests.Session):
    """A requests Session whose requests time out after ``timeout_s`` unless told otherwise."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout_s)
        return super().request(*args, **kwargs)


def install_timeout(client: Any, timeout_s: float) -> None:
    """Give an alpaca-py REST client a session with a default timeout (it sets none)."""
    client._session = TimeoutSession(timeout_s)


class AlpacaBroker:
    """Orders, positions and account at Alpaca (or the emulator). Raises BrokerError subclasses."""

    def __init__(self, endpoints: AlpacaEndpoints, timeout_s: float = 10.0) -> None:
        self.endpoints = endpoints
        self._client = TradingClient(
            api_key=endpoints.api_key,
            secret_key=endpoints.secret_key,
            paper=endpoints.paper,
            url_override=endpoints.trading_url,
        )
        install_timeout(self._client, timeout_s)

    def __repr__(self) -> str:
        return f"AlpacaBroker({self.endpoints.trading_url!r})"

    def close(self) -> None:
        self._client._session.close()

    # --- orders -----------------------------------------------------------------------------
    def submit_order(self, intent: OrderIntent) -> OrderSnapshot:
        """Place ``intent``; returns the broker's view of the order.

        Raises OrderRejectedError (4xx: nothing placed), BrokerAuthError, and
        TransientBrokerError when the order did not reach the broker or its fate could not be
        established; either way resubmitting with the same client_order_id is safe (the
        broker refuses a second order with that id, and this method then returns the first).
        """
        request = self._order_request(intent)
        try:
            order = cast(Order, self._client.submit_order(request))
        except _TRANSLATED as error:
            translated = translate_error(error, submitting=True)
            if isinstance(translated, TransientBrokerError):
                existing = self._look_up_after_ambiguous_submission(intent, translated)
                if existing is None:
                    raise translated from error
                log.warning(
                    "submission of %s failed (%s) but the order is at the broker",
                    intent.client_order_id,
                    translated,
                )
                return existing
            if (
                isinstance(translated, OrderRejectedError)
                and _DUPLICATE_CLIENT_ORDER_ID in translated.message
            ):
                existing = self.get_order_by_client_id(intent.client_order_id)
                if existing is not None:
                    return existing
            raise translated from error
        return parsing.order_snapshot(order)

    def _look_up_after_ambiguous_submission(
        self, intent: OrderIntent, cause: TransientBrokerError
    ) -> OrderSnapshot | None:
        try:
            return self.get_order_by_client_id(intent.client_order_id)
        except BrokerError as lookup_error:
            raise TransientBrokerError(
                f"submission of {intent.client_order_id} failed ({cause}) and so did the lookup "
                f"({lookup_error}): outcome unknown; resubmit with the same client_order_id",
                status=cause.status,
                code=cause.code,
            ) from cause

    @staticmethod
    def _order_request(intent: OrderIntent) -> MarketOrderRequest | LimitOrderRequest:
        common: dict[str, Any] = {
            "symbol": intent.symbol,
            "qty": float(intent.qty),
            "side": AlpacaOrderSide(intent.side.value),
            "time_in_force": AlpacaTimeInForce(intent.time_in_force.value),
            "client_order_id": intent.client_order_id,
        }
        if intent.order_type is OrderType.LIMIT:
            assert intent.limit_price is not None, "OrderIntent guarantees a limit price"
            return LimitOrderRequest(limit_price=float(intent.limit_price), **common)
        return MarketOrderRequest(**common)

    def cancel_order(self, broker_order_id: str) -> bool:
        """Request cancellation; False when the order can no longer be canceled (already final).

        Raises OrderNotFoundError for an unknown id. The ``canceled`` trade update confirms.
        """
        try:
            self._client.cancel_order_by_id(broker_order_id)
        except _TRANSLATED as error:
            translated = translate_error(error)
            if translated.status == 422:
                return False
            raise translated from error
        return True

    def cancel_all_orders(self) -> int:
        """Cancel every open order; returns how many cancellations the broker accepted."""
        try:
            responses = cast(list[CancelOrderResponse], self._client.cancel_orders())
        except _TRANSLATED as error:
            raise translate_error(error) from error
        return sum(1 for response in responses if 200 <= response.status < 300)

    def get_order_by_client_id(self, client_order_id: str) -> OrderSnapshot | None:
        try:
            order = cast(Order, self._client.get_order_by_client_id(client_order_id))
        except _TRANSLATED as error:
            translated = translate_error(error)
            if isinstance(translated, OrderNotFoundError):
                return None
            raise translated from error
        return parsing.order_snapshot(order)

    def get_order(self, broker_order_id: str) -> OrderSnapshot:
        try:
            order = cast(Order, self._client.get_order_by_id(broker_order_id))
        except _TRANSLATED as error:
            raise translate_error(error) from error
        return parsing.order_snapshot(order)

    def list_open_orders(self) -> list[OrderSnapshot]:
        """Open orders, oldest first. Orders the platform cannot represent are skipped (logged)."""
        try:
            request = GetOrdersRequest(
                status=QueryOrderStatus.OPEN, limit=MAX_OPEN_ORDERS, direction=Sort.ASC
            )
            orders = cast(list[Order], self._client.get_orders(request))
        except _TRANSLATED as error:
            raise translate_error(error) from error
        snapshots = []
        for order in orders:
            try:
                snapshots.append(parsing.order_snapshot(order))
            except parsing.UnrecognizedMessageError as problem:
                log.warning("skipping open order %s: %s", order.id, problem)
        return snapshots

    def orders_since(self, after: dt.datetime) -> list[OrderSnapshot]:
        """Every order (open or closed) created after ``after``, oldest first, paged."""
        snapshots: list[OrderSnapshot] = []
        cursor = after
        while True:
            try:
                request = GetOrdersRequest(
                    status=QueryOrderStatus.ALL,
                    limit=MAX_ORDERS_PAGE,
                    after=cursor,
                    direction=Sort.ASC,
                )
                orders = cast(list[Order], self._client.get_orders(request))
            except _TRANSLATED as error:
                raise translate_error(error) from error
            for order in orders:
                try:
                    snapshots.append(parsing.order_snapshot(order))
                except parsing.UnrecognizedMessageError as problem:
                    log.warning("skipping order %s: %s", order.id, problem)
            if len(orders) < MAX_ORDERS_PAGE:
                return snapshots
            cursor = max(to_utc_created(order) for order in orders)

    def fills_since(
        self, after: dt.datetime, client_order_ids: dict[str, str]
    ) -> list[Fill] | None:
        """Every execution after ``after`` from the account's FILL activities, oldest first,
        with the broker's execution ids; ``client_order_ids`` maps broker order ids to ours.
        None when the broker does not serve account activities (HTTP 404)."""
        fills: list[Fill] = []
        page_token: str | None = None
        while True:
            query: dict[str, Any] = {
                "activity_types": "FILL",
                "after": after.isoformat(),
                "direction": "asc",
                "page_size": ACTIVITIES_PAGE,
            }
            if page_token is not None:
                query["page_token"] = page_token
            try:
                page = self._client.get("/account/activities", query)
            except _TRANSLATED as error:
                translated = translate_error(error)
                if translated.status == 404:
                    return None
                raise translated from error
            entries = page if isinstance(page, list) else []
            for entry in entries:
                try:
                    fills.append(parsing.fill_activity(entry, client_order_ids))
                except parsing.UnrecognizedMessageError as problem:
                    log.warning("skipping account activity: %s", problem)
            if len(entries) < ACTIVITIES_PAGE:
                return fills
            page_token = str(entries[-1].get("id"))

    def assets(self) -> dict[str, tuple[bool, bool]] | None:
        """{symbol: (tradable, active)} of the broker's US equities; None when the broker
        does not serve assets (HTTP 404)."""
        try:
            assets = self._client.get_all_assets(GetAssetsRequest(asset_class=AssetClass.US_EQUITY))
        except _TRANSLATED as error:
            translated = translate_error(error)
            if translated.status == 404:
                return None
            raise translated from error
        return {
            str(asset.symbol): (bool(asset.tradable), asset.status == AssetStatus.ACTIVE)
            for asset in cast(list[Asset], assets)
        }

    # --- account ----------------------------------------------------------------------------
    def get_positions(self) -> dict[str, Position]:
        try:
            positions = cast(list[AlpacaPosition], self._client.get_all_positions())
        except _TRANSLATED as error:
            raise translate_error(error) from error
        return parsing.positions(positions)

    def get_account(self, as_of: dt.datetime | None = None) -> AccountSnapshot:
        """Cash, buying power and equity; ``as_of`` labels the snapshot (default: now, UTC)."""
        try:
            account = cast(TradeAccount, self._client.get_account())
        except _TRANSLATED as error:
            raise translate_error(error) from error
        return parsing.account_snapshot(account, as_of or dt.datetime.now(dt.UTC))

    def get_clock(self) -> MarketClock:
        try:
            clock = cast(Clock, self._client.get_clock())
        except _TRANSLATED as error:
            raise translate_error(error) from error
        return parsing.market_clock(clock)


def to_utc_created(order: Order) -> dt.datetime:
    """When the broker created ``order`` (the cursor of the orders listing)."""
    return parsing.to_utc(order.created_at, "created_at")
