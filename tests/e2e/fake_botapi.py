"""A strict fake Telegram Bot API server for tests (aiohttp on 127.0.0.1, ephemeral port).

It speaks the real Bot API JSON (`{"ok": ..., "result": ...}`, error_code/description/parameters), accepts
parameters as a query string, form data or JSON like Telegram does, and refuses what Telegram refuses:
HTML outside Telegram's subset, texts over 4096 characters, unknown chats and messages, callback data
that no button carries, and messages beyond the rate limits (429 with `parameters.retry_after`).
sendPhoto takes a multipart upload as Telegram does, and only a whole, valid PNG (png.py) with a caption
of at most 1,024 characters.
Tests drive simulated users (commands in private chats, groups and forum threads; button presses),
make a chat block the bot (403) or the server fail transiently (5xx), and read what each chat received.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import math
import re
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.e2e.png import BadImage, check_png
from tests.e2e.tg_html import ParseError, parse, utf16_len

MAX_TEXT = 4096
MAX_CAPTION = 1024
Json = dict[str, Any]


class ApiError(Exception):
    """An error answer: HTTP status = error_code, as Telegram sends it."""

    def __init__(
        self, code: int, description: str, retry_after: int | None = None, migrate_to: int | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters: Json = {}
        if retry_after is not None:
            self.parameters["retry_after"] = retry_after
        if migrate_to is not None:
            self.parameters["migrate_to_chat_id"] = migrate_to


@dataclass(frozen=True)
class FakeLimits:
    """Telegram's documented pace, with the short burst it tolerates in a private chat (`private_burst`
    messages per `private_burst` seconds); `slack` lets a sender pacing at exactly these rates pass despite
    jitter."""

    private_interval: float = 1.0
    private_burst: int = 3
    group_per_minute: int = 20
    global_per_second: int = 30
    slack: float = 0.9
    count_refused: bool = False
    """Count a message refused for its markup against the chat's pace, as a stricter server may."""


@dataclass
class User:
    id: int
    first_name: str
    username: str | None = None
    is_bot: bool = False

    def to_json(self) -> Json:
        data: Json = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class Chat:
    id: int
    type: str
    title: str | None = None
    is_forum: bool = False
    admins: set[int] = field(default_factory=set)
    creator: int | None = None
    threads: set[int] = field(default_factory=set)

    def to_json(self) -> Json:
        data: Json = {"id": self.id, "type": self.type}
        if self.title:
            data["title"] = self.title
        if self.is_forum:
            data["is_forum"] = True
        return data


@dataclass
class Message:
    """A message in a chat as the fake keeps it; `edits` holds earlier texts of an edited bot message. A photo
message keeps the PNG uploaded (`photo`) and its caption as `text`."""

    message_id: int
    chat: Chat
    sender: User
    date: int
    text: str
    html: str | None = None
    entities: list[Json] = field(default_factory=list)
    reply_markup: Json | None = None
    thread_id: int | None = None
    edits: list[str] = field(default_factory=list)
    accepted_at: float = field(default_factory=time.monotonic)
    photo: bytes | None = None

    def to_json(self) -> Json:
        data: Json = {
            "message_id": self.message_id,
            "date": self.date,
            "chat": self.chat.to_json(),
            "from": self.sender.to_json(),
        }
        if self.photo is not None:
            size = check_png(self.photo)
            unique = f"png{self.chat.id}_{self.message_id}"
            data["photo"] = [
                {"file_id": f"photo-{unique}", "file_unique_id": unique, "width": size.width, "height": size.height,
                 "file_size": len(self.photo)}
            ]  # fmt: skip
            if self.text:
                data["caption"] = self.text
            if self.entities:
                data["caption_entities"] = self.entities
        else:
            data["text"] = self.text
        if self.entities and self.photo is None:
            data["entities"] = self.entities
        if self.reply_markup:
            data["reply_markup"] = self.reply_markup
        if self.thread_id is not None:
            data["message_thread_id"] = self.thread_id
            data["is_topic_message"] = True
        if self.edits:
            data["edit_date"] = self.date
        return data

    @property
    def callback_data(self) -> list[str]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [b["callback_data"] for row in rows for b in row if "callback_data" in b]


class FakeBotApi:
    """The server and its controls. Use `async with FakeBotApi() as api:` then point PTB at `api.base_url`."""

    def __init__(self, token: str = "123456:TEST-token", limits: FakeLimits | None = None, port: int = 0) -> None:
        self.token = token
        self.limits = limits or FakeLimits()
        self.bot = User(int(token.split(":")[0]), "Newsbot", "newsbot_test_bot", is_bot=True)
        self.chats: dict[int, Chat] = {}
        self.users: dict[int, User] = {}
        self.messages: dict[int, dict[int, Message]] = defaultdict(dict)
        self.commands: dict[str, list[Json]] = {}
        self.calls: list[tuple[str, Json]] = []
        self.rejections: list[tuple[str, int, str]] = []
        self.answered: dict[str, Json] = {}
        self.blocked: set[int] = set()
        self._flooded: dict[int, float] = {}
        self.migrated: dict[int, int] = {}
        self._failures: deque[int] = deque()
        self._updates: list[Json] = []
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._pending_queries: set[str] = set()
        self._new_update = asyncio.Condition()
        self._sent_at: dict[int, deque[float]] = defaultdict(deque)
        self._global_sent: deque[float] = deque()
        self._runner: web.AppRunner | None = None
        self._open = asyncio.Event()
        self._open.set()
        self.held = 0
        self._refusals = 0
        self.port = port

    # ---- lifecycle

    async def __aenter__(self) -> FakeBotApi:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/control/{action}", self._control)
        self._runner = web.AppRunner(app, handle_signals=False, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        async with self._new_update:
            self._new_update.notify_all()
        if self._runner:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        """The value for `telegram.base_url` (PTB appends the token and the method)."""
        return f"http://127.0.0.1:{self.port}/bot"

    # ---- controls for tests

    def private_chat(self, user_id: int, first_name: str = "Reader") -> Chat:
        self.users.setdefault(user_id, User(user_id, first_name, f"user{user_id}"))
        return self.chats.setdefault(user_id, Chat(user_id, "private", None))

    def group(
        self,
        chat_id: int,
        title: str,
        admins: set[int],
        *,
        supergroup: bool = False,
        forum: bool = False,
        creator: int | None = None,
    ) -> Chat:
        kind = "supergroup" if supergroup or forum else "group"
        for user_id in admins | ({creator} if creator else set()):
            self.users.setdefault(user_id, User(user_id, f"User{user_id}", f"user{user_id}"))
        chat = Chat(chat_id, kind, title, is_forum=forum, admins=set(admins), creator=creator)
        self.chats[chat_id] = chat
        return chat

    def block(self, chat_id: int) -> None:
        """The user blocks the bot (or the bot is kicked from the group): sends get 403 from now on."""
        self.blocked.add(chat_id)

    def upgrade(self, chat_id: int, new_id: int) -> Chat:
        """A group becomes a supergroup with a new id; the old id answers 400 with migrate_to_chat_id."""
        old = self.chats[chat_id]
        self.migrated[chat_id] = new_id
        return self.group(new_id, old.title or "", old.admins, supergroup=True, creator=old.creator)

    def flood(self, chat_id: int, seconds: int) -> None:
        """Telegram's flood control for one chat: its sends get 429 with retry_after for `seconds`."""
        self._flooded[chat_id] = time.monotonic() + seconds

    def fail_next(self, count: int = 1, status: int = 502) -> None:
        """The next `count` send/edit calls fail with a transient server error."""
        self._failures.extend([status] * count)

    def hold_sends(self) -> None:
        """From now on sendMessage calls hang unanswered and unrecorded (Telegram has not accepted them)
        until `release_sends`; a client that dies meanwhile has sent nothing."""
        self._open.clear()

    def release_sends(self) -> None:
        self._open.set()

    def refuse_held(self) -> None:
        """The sendMessage calls held now are answered 502 (Telegram accepted none of them: the client may send
        them again without a duplicate); later calls go through."""
        self._refusals += 1
        self._open.set()

    def sent(self, chat_id: int) -> list[Message]:
        """Messages the bot sent to this chat that Telegram accepted, in order."""
        return [m for m in self.messages[chat_id].values() if m.sender.is_bot]

    def all_sent(self) -> list[Message]:
        return [m for chat in self.messages.values() for m in chat.values() if m.sender.is_bot]

    def rate_limited(self) -> list[tuple[str, int, str]]:
        return [r for r in self.rejections if r[1] == 429]

    async def user_says(self, chat_id: int, user_id: int, text: str, thread_id: int | None = None) -> Message:
        """A user writes in a chat; a leading /command carries a bot_command entity, as Telegram marks it."""
        chat = self.chats[chat_id]
        user = self.users.setdefault(user_id, User(user_id, f"User{user_id}", f"user{user_id}"))
        if thread_id is not None:
            if not chat.is_forum:
                raise ValueError(f"chat {chat_id} is not a forum")
            chat.threads.add(thread_id)
        entities = []
        if command := re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text):
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))})
        message = self._store(chat, user, text, entities=entities, thread_id=thread_id)
        await self._push({"message": message.to_json()})
        return message

    async def press(self, chat_id: int, user_id: int, message_id: int, data: str, *, forged: bool = False) -> str:
        """A user presses an inline button; only data that one of the message's buttons carries is allowed,
        unless `forged` (a modified client can send any callback data under any message of the bot)."""
        message = self.messages[chat_id][message_id]
        if not forged and data not in message.callback_data:
            raise ValueError(f"message {message_id} has no button with data {data!r}")
        query_id = str(next(self._callback_ids))
        self._pending_queries.add(query_id)
        user = self.users.setdefault(user_id, User(user_id, f"User{user_id}", f"user{user_id}"))
        await self._push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user.to_json(),
                    "data": data,
                    "chat_instance": str(chat_id),
                    "message": message.to_json(),
                }
            }
        )
        return query_id

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Poll a condition about the recorded state; fail the test with a clear message on timeout."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout} s; rejections: {self.rejections[-5:]}")
            await asyncio.sleep(0.02)

    # ---- controls over HTTP, for tests that run the fake in its own process (botapi_process.py)

    async def _control(self, request: web.Request) -> web.Response:
        """`/control/{action}`: the controls above as JSON, for a test in another process."""
        action = request.match_info["action"]
        params: Json = await request.json() if request.can_read_body else dict(request.query)
        if action == "private_chat":
            self.private_chat(int(params["user_id"]))
            return web.json_response({})
        if action == "user_says":
            said = await self.user_says(int(params["chat_id"]), int(params["user_id"]), str(params["text"]))
            return web.json_response({"message_id": said.message_id})
        if action == "press":
            query = await self.press(
                int(params["chat_id"]), int(params["user_id"]), int(params["message_id"]), str(params["data"])
            )
            return web.json_response({"query_id": query})
        if action == "sent":
            return web.json_response([self._shown(m) for m in self.sent(int(params["chat_id"]))])
        if action == "calls":
            return web.json_response([method for method, _ in self.calls])
        if action == "rejections":
            return web.json_response([list(r) for r in self.rejections])
        if action == "hold_sends":
            self.hold_sends()
            return web.json_response({})
        if action == "release_sends":
            self.release_sends()
            return web.json_response({})
        if action == "refuse_held":
            self.refuse_held()
            return web.json_response({})
        return web.json_response({"error": f"no control {action}"}, status=404)

    @staticmethod
    def _shown(message: Message) -> Json:
        return {
            "message_id": message.message_id,
            "text": message.text,
            "html": message.html,
            "entities": message.entities,
            "callback_data": message.callback_data,
            "edits": message.edits,
            "thread_id": message.thread_id,
            "photo": base64.b64encode(message.photo).decode() if message.photo is not None else None,
        }

    # ---- HTTP

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(ApiError(401, "Unauthorized"))
        method = request.match_info["method"].lower()
        params = await self._params(request)
        self.calls.append((method, params))
        handler: Callable[[Json], Awaitable[Any]] | None = getattr(self, f"_api_{method}", None)
        if handler is None:
            return self._error(ApiError(404, "Not Found"))
        try:
            result = await handler(params)
        except ApiError as exc:
            self.rejections.append((method, exc.code, exc.description))
            return self._error(exc)
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    async def _params(request: web.Request) -> Json:
        """Query, JSON, urlencoded or multipart parameters; an uploaded file arrives as its bytes."""
        params: Json = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.can_read_body:
            for key, value in (await request.post()).items():
                params[key] = value if isinstance(value, str) else value.file.read()
        return params

    @staticmethod
    def _error(exc: ApiError) -> web.Response:
        body: Json = {"ok": False, "error_code": exc.code, "description": exc.description}
        if exc.parameters:
            body["parameters"] = exc.parameters
        return web.json_response(body, status=exc.code)

    # ---- helpers

    @staticmethod
    def _json(value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    @staticmethod
    def _int(params: Json, name: str, required: bool = True) -> int | None:
        value = params.get(name)
        if value is None or value == "":
            if required:
                raise ApiError(400, f"Bad Request: {name} is empty")
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError(400, f"Bad Request: invalid {name} specified") from None

    def _chat(self, params: Json) -> Chat:
        chat_id = self._int(params, "chat_id")
        if chat_id in self.migrated:
            raise ApiError(
                400, "Bad Request: group chat was upgraded to a supergroup chat", migrate_to=self.migrated[chat_id]
            )
        if chat_id not in self.chats:
            raise ApiError(400, "Bad Request: chat not found")
        return self.chats[chat_id]  # type: ignore[index]

    def _store(
        self,
        chat: Chat,
        sender: User,
        text: str,
        *,
        html: str | None = None,
        entities: list[Json] | None = None,
        reply_markup: Json | None = None,
        thread_id: int | None = None,
    ) -> Message:
        message = Message(
            next(self._message_ids[chat.id]),
            chat,
            sender,
            int(time.time()),
            text,
            html,
            entities or [],
            reply_markup,
            thread_id,
        )
        self.messages[chat.id][message.message_id] = message
        return message

    async def _push(self, update: Json) -> None:
        async with self._new_update:
            self._updates.append({"update_id": next(self._update_ids), **update})
            self._new_update.notify_all()

    def _render(
        self, params: Json, *, field: str = "text", limit: int = MAX_TEXT
    ) -> tuple[str, str | None, list[Json]]:
        text = params.get(field)
        if not text:
            raise ApiError(400, "Bad Request: message text is empty")
        mode = params.get("parse_mode")
        if mode is None:
            plain, entities, html = str(text), [], None
        elif str(mode).lower() == "html":
            try:
                parsed = parse(str(text))
            except ParseError as exc:
                raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
            plain, entities, html = parsed.text, parsed.entities, str(text)
        else:
            raise ApiError(400, f"Bad Request: unsupported parse_mode {mode}")
        if not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(plain) > limit:
            raise ApiError(400, f"Bad Request: message {'caption ' if field == 'caption' else ''}is too long")
        return plain, html, entities

    def _markup(self, params: Json) -> Json | None:
        markup = self._json(params.get("reply_markup"))
        if markup is None:
            return None
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return dict(markup)

    def _check_delivery(self, chat: Chat, *, counts_for_chat: bool) -> None:
        """Blocked chats, injected failures, then the rate limits (only messages that pass are counted)."""
        if self._failures:
            status = self._failures.popleft()
            raise ApiError(status, "Internal Server Error" if status == 500 else "Bad Gateway")
        if chat.id in self.blocked:
            reason = "bot was blocked by the user" if chat.type == "private" else "bot was kicked from the group chat"
            raise ApiError(403, f"Forbidden: {reason}")
        now = time.monotonic()
        if (wait := self._flooded.get(chat.id, now) - now) > 0:
            raise ApiError(429, f"Too Many Requests: retry after {math.ceil(wait)}", retry_after=math.ceil(wait))
        window = self._global_sent
        while window and now - window[0] >= self.limits.slack:
            window.popleft()
        if len(window) >= self.limits.global_per_second:
            raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        if counts_for_chat:
            mine = self._sent_at[chat.id]
            if chat.type == "private":
                allowed = self.limits.private_burst
                span = allowed * self.limits.private_interval * self.limits.slack
            else:
                span, allowed = 60.0 * self.limits.slack, self.limits.group_per_minute
            while mine and now - mine[0] >= span:
                mine.popleft()
            if len(mine) >= allowed:
                wait = max(1, math.ceil(span - (now - mine[0])))
                raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
            mine.append(now)
        window.append(now)

    def _own_message(self, params: Json) -> Message:
        chat = self._chat(params)
        message = self.messages[chat.id].get(self._int(params, "message_id") or 0)
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if not message.sender.is_bot:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    # ---- Bot API methods (names lower-cased: Telegram's method names are case-insensitive)

    async def _api_getme(self, params: Json) -> Json:
        return {
            **self.bot.to_json(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _api_deletewebhook(self, params: Json) -> bool:
        if str(params.get("drop_pending_updates", "")).lower() == "true":
            self._updates.clear()
        return True

    async def _api_getwebhookinfo(self, params: Json) -> Json:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": len(self._updates)}

    async def _api_getupdates(self, params: Json) -> list[Json]:
        offset = self._int(params, "offset", required=False) or 0
        limit = min(max(self._int(params, "limit", required=False) or 100, 1), 100)
        timeout = float(params.get("timeout") or 0)
        allowed = self._json(params.get("allowed_updates"))
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]

        def wanted() -> list[Json]:
            return [u for u in self._updates if not allowed or any(kind in u for kind in allowed)][:limit]

        deadline = time.monotonic() + timeout
        async with self._new_update:
            while not (ready := wanted()) and (left := deadline - time.monotonic()) > 0:
                try:
                    await asyncio.wait_for(self._new_update.wait(), left)
                except TimeoutError:
                    break
        return ready

    async def _api_setmycommands(self, params: Json) -> bool:
        commands = self._json(params.get("commands")) or []
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command.get("command", "")):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        scope = self._json(params.get("scope")) or {"type": "default"}
        self.commands[scope["type"]] = commands
        return True

    async def _api_getmycommands(self, params: Json) -> list[Json]:
        scope = self._json(params.get("scope")) or {"type": "default"}
        return self.commands.get(scope["type"], [])

    async def _api_sendmessage(self, params: Json) -> Json:
        if not self._open.is_set():
            refusals = self._refusals
            self.held += 1
            try:
                await self._open.wait()
            finally:
                self.held -= 1
            if self._refusals != refusals:
                raise ApiError(502, "Bad Gateway")
        chat = self._chat(params)
        thread_id = self._int(params, "message_thread_id", required=False)
        if thread_id is not None and (not chat.is_forum or thread_id not in chat.threads):
            raise ApiError(400, "Bad Request: message thread not found")
        try:
            plain, html, entities = self._render(params)
        except ApiError:
            if self.limits.count_refused:
                self._sent_at[chat.id].append(time.monotonic())
            raise
        markup = self._markup(params)
        self._check_delivery(chat, counts_for_chat=True)
        message = self._store(
            chat, self.bot, plain, html=html, entities=entities, reply_markup=markup, thread_id=thread_id
        )
        return message.to_json()

    async def _api_sendphoto(self, params: Json) -> Json:
        """A photo uploaded as multipart form data (a file id or URL from an earlier upload is not kept here):
        only a valid PNG, with an optional caption of at most 1,024 characters."""
        chat = self._chat(params)
        photo = params.get("photo")
        if not isinstance(photo, bytes):
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        try:
            check_png(photo)
        except BadImage as bad:
            raise ApiError(400, f"Bad Request: {bad}") from None
        plain, html, entities = "", None, []
        if params.get("caption"):
            plain, html, entities = self._render(params, field="caption", limit=MAX_CAPTION)
        markup = self._markup(params)
        thread_id = self._int(params, "message_thread_id", required=False)
        if thread_id is not None and (not chat.is_forum or thread_id not in chat.threads):
            raise ApiError(400, "Bad Request: message thread not found")
        self._check_delivery(chat, counts_for_chat=True)
        message = self._store(
            chat, self.bot, plain, html=html, entities=entities, reply_markup=markup, thread_id=thread_id
        )
        message.photo = photo
        return message.to_json()

    async def _api_editmessagetext(self, params: Json) -> Json:
        message = self._own_message(params)
        plain, html, entities = self._render(params)
        markup = self._markup(params)
        if plain == message.text and entities == message.entities and markup == message.reply_markup:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        self._check_delivery(message.chat, counts_for_chat=False)
        message.edits.append(message.text)
        message.text, message.html, message.entities, message.reply_markup = plain, html, entities, markup
        return message.to_json()

    async def _api_editmessagereplymarkup(self, params: Json) -> Json:
        message = self._own_message(params)
        markup = self._markup(params)
        if markup == message.reply_markup:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        message.reply_markup = markup
        return message.to_json()

    async def _api_answercallbackquery(self, params: Json) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._pending_queries:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        self._pending_queries.discard(query_id)
        self.answered[query_id] = params
        return True

    async def _api_getchatmember(self, params: Json) -> Json:
        chat = self._chat(params)
        user_id = self._int(params, "user_id")
        user = self.users.get(user_id or 0)
        if user is None:
            raise ApiError(400, "Bad Request: PARTICIPANT_ID_INVALID")
        return self._member(chat, user)

    async def _api_getchatadministrators(self, params: Json) -> list[Json]:
        chat = self._chat(params)
        if chat.type == "private":
            raise ApiError(400, "Bad Request: there are no administrators in the private chat")
        ids = sorted(chat.admins | ({chat.creator} if chat.creator else set()))
        return [self._member(chat, self.users[i]) for i in ids]

    @staticmethod
    def _member(chat: Chat, user: User) -> Json:
        if chat.type == "private" or user.id == chat.creator:
            return {"status": "creator", "user": user.to_json(), "is_anonymous": False}
        if user.id in chat.admins:
            rights = (
                "can_be_edited",
                "is_anonymous",
                "can_manage_chat",
                "can_delete_messages",
                "can_manage_video_chats",
                "can_restrict_members",
                "can_promote_members",
                "can_change_info",
                "can_invite_users",
                "can_post_stories",
                "can_edit_stories",
                "can_delete_stories",
            )
            return {
                "status": "administrator",
                "user": user.to_json(),
                **{r: r not in ("can_be_edited", "is_anonymous") for r in rights},
            }
        return {"status": "member", "user": user.to_json()}
