"""The Bot API methods: the handler table, :meth:`BotApi.call` and one handler per method not
owned by another area (delivery, moderation, join requests have their own handler objects)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sandbox.fake_telegram.access import Access
from sandbox.fake_telegram.delivery import UpdateQueue
from sandbox.fake_telegram.faults import FaultInjector
from sandbox.fake_telegram.joinrequests import JoinRequests
from sandbox.fake_telegram.moderation import Moderation
from sandbox.fake_telegram.protocol import (
    BOT_BLOCKED,
    CANT_INITIATE,
    MEMBER_LIST_INACCESSIBLE,
    MESSAGE_CANT_BE_DELETED,
    MESSAGE_NOT_MODIFIED,
    MESSAGE_THREAD_NOT_FOUND,
    MESSAGE_TO_DELETE_NOT_FOUND,
    MESSAGE_TO_EDIT_NOT_FOUND,
    NEED_ADMIN_RIGHTS_CHANNEL,
    NOT_ENOUGH_RIGHTS_INVITE,
    QUERY_TOO_OLD,
    TEXT_EMPTY,
    TEXT_TOO_LONG,
    USER_NOT_FOUND,
    ApiError,
    JsonDict,
    Params,
    Reply,
)
from sandbox.fake_telegram.store import GROUP_DEFAULT_PERMISSIONS, Chat, ChatStore, Member
from sandbox.fake_telegram.updates import UpdateBuilders, quoted


class BotApi:
    """The Bot API methods this world answers, by name: each call goes through the fault
    injector, then to its handler."""

    def __init__(
        self,
        store: ChatStore,
        *,
        access: Access,
        faults: FaultInjector,
        queue: UpdateQueue,
        builders: UpdateBuilders,
        moderation: Moderation,
        join_requests: JoinRequests,
    ) -> None:
        self.store = store
        self.access = access
        self.faults = faults
        self.builders = builders
        self.handlers: dict[str, Callable[[Params], Any]] = {
            "getMe": self._get_me,
            "logOut": lambda p: True,
            "close": lambda p: True,
            "getUpdates": queue.get_updates,
            "setWebhook": queue.set_webhook,
            "deleteWebhook": queue.delete_webhook,
            "getWebhookInfo": queue.get_webhook_info,
            "sendMessage": self._send_message,
            "sendChatAction": self._send_chat_action,
            "sendDocument": self._send_document,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "restrictChatMember": moderation.restrict_chat_member,
            "banChatMember": moderation.ban_chat_member,
            "unbanChatMember": moderation.unban_chat_member,
            "banChatSenderChat": moderation.ban_chat_sender_chat,
            "unbanChatSenderChat": moderation.unban_chat_sender_chat,
            "approveChatJoinRequest": join_requests.approve_chat_join_request,
            "declineChatJoinRequest": join_requests.decline_chat_join_request,
            "getChatMember": self._get_chat_member,
            "getChatMemberCount": self._get_chat_member_count,
            "getChat": self._get_chat,
            "getChatAdministrators": self._get_chat_administrators,
            "answerCallbackQuery": self._answer_callback_query,
            "createChatInviteLink": self._create_chat_invite_link,
            "exportChatInviteLink": self._export_chat_invite_link,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "leaveChat": self._leave_chat,
        }
        self._by_lower = {name.lower(): name for name in self.handlers}

    @property
    def methods(self) -> tuple[str, ...]:
        """The Bot API methods this world answers."""
        return tuple(self.handlers)

    # ------------------------------------------------------------------ answering calls
    def call(self, method: str, params: Mapping[str, Any] | None = None) -> Reply:
        """Answer one Bot API call (synchronously; see :func:`serve_call` for the async parts).

        Faults are drawn first (a failed call changes nothing); then the method runs.
        """
        raw = dict(params or {})
        self.store.remember(self.store.calls, (method, raw))
        handler = self.handlers.get(method)
        if handler is None:
            method = self._by_lower.get(method.lower(), method)  # Telegram ignores case
            handler = self.handlers.get(method)
        if handler is None:
            return Reply.error(404, "Not Found")
        fault = self.faults.draw(method)
        if fault is not None:
            kind, retry_after = fault
            self.store.remember(self.store.injected_faults, (method, kind))
            self.store.fault_counts[kind] += 1
            reply = self.faults.reply(method, kind, retry_after, raw)
            if reply is not None:
                return reply
            extra = self.faults.plan.slow_s
        else:
            extra = 0.0
        try:
            result = handler(Params(raw))
        except ApiError as exc:
            reply = Reply.error(
                exc.status, exc.description, exc.retry_after, parameters=exc.parameters
            )
        except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
            # malformed parameters (a number where a list belongs, ...): a 400, never a crash
            reply = Reply.error(400, f"Bad Request: invalid parameters ({type(exc).__name__})")
        else:
            reply = result if isinstance(result, Reply) else Reply.success(result)
        reply.delay_s += self.faults.draw_latency() + extra
        return reply

    # ------------------------------------------------------------------ method handlers
    def _get_me(self, p: Params) -> JsonDict:
        return dict(
            self.store.bot_user,
            can_join_groups=True,
            can_read_all_group_messages=False,
            supports_inline_queries=False,
            can_connect_to_business=False,
            has_main_web_app=False,
        )

    def _send_message(self, p: Params) -> JsonDict:
        chat = self.access.target_chat(p.chat_ref())
        if chat.write_until is not None and self.store.now() > chat.write_until:
            raise ApiError(403, CANT_INITIATE)  # a join request's window has closed
        if chat.bot_blocked:
            raise ApiError(403, BOT_BLOCKED)
        text = p.text("text") or ""
        if not text.strip():
            raise ApiError(400, TEXT_EMPTY)
        if len(text) > 4096:
            raise ApiError(400, TEXT_TOO_LONG)
        if chat.type == "channel" and not self.access.bot_right(chat, "can_post_messages"):
            raise ApiError(400, NEED_ADMIN_RIGHTS_CHANNEL)
        thread_id = p.integer("message_thread_id")
        if chat.is_forum and thread_id is not None and thread_id not in chat.topics:
            raise ApiError(400, MESSAGE_THREAD_NOT_FOUND)
        if self.faults.enforce_flood_limits:
            self.faults.check_flood(chat)
        message = self.store.new_message(chat, self.store.bot_user, text=text)
        markup = p.obj("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        reply = p.obj("reply_parameters")
        reply_to = reply.get("message_id") if isinstance(reply, dict) else None
        reply_to = reply_to or p.integer("reply_to_message_id")
        if reply_to is not None and reply_to in chat.messages:
            message["reply_to_message"] = quoted(chat.messages[reply_to])
        if chat.is_forum and thread_id is not None:
            self.builders.thread(chat, message, None, thread_id)
        self.store.remember(self.store.sent_messages, message)
        return message

    def _send_document(self, p: Params) -> JsonDict:
        """A file upload (``attach://``); ``sent_documents`` keeps its name and bytes."""
        chat = self.access.target_chat(p.chat_ref())
        if chat.bot_blocked:
            raise ApiError(403, BOT_BLOCKED)
        upload = p.file("document")
        if upload is None:
            raise ApiError(400, "Bad Request: there is no document in the request")
        message = self.store.new_message(chat, self.store.bot_user, text=None)
        message.pop("text", None)
        message["document"] = {
            "file_id": f"doc{message['message_id']}",
            "file_unique_id": f"u{message['message_id']}",
            "file_name": upload.filename,
            "file_size": len(upload.data),
        }
        caption = p.text("caption")
        if caption:
            message["caption"] = caption
        self.store.remember(self.store.sent_messages, message)
        self.store.sent_documents.append({"chat_id": chat.id, "name": upload.filename,
                                    "data": upload.data, "caption": caption})  # fmt: skip
        return message

    def _send_chat_action(self, p: Params) -> bool:
        self.access.target_chat(p.chat_ref())
        return True

    def _delete_message(self, p: Params) -> bool:
        chat = self.access.target_chat(p.chat_ref())
        message_id = p.integer("message_id", required=True)
        assert message_id is not None
        self._delete_one(chat, message_id)
        return True

    def _delete_messages(self, p: Params) -> bool:
        chat = self.access.target_chat(p.chat_ref())
        ids = p.obj("message_ids") or []
        for message_id in ids:
            if int(message_id) in chat.messages:
                self._delete_one(chat, int(message_id))
        return True

    def _delete_one(self, chat: Chat, message_id: int) -> None:
        message = chat.messages.get(message_id)
        if message is None:
            raise ApiError(400, MESSAGE_TO_DELETE_NOT_FOUND)
        own = message.get("from", {}).get("id") == self.store.bot_id
        if (
            not own
            and chat.type != "private"
            and not self.access.bot_right(chat, "can_delete_messages")
        ):
            raise ApiError(400, MESSAGE_CANT_BE_DELETED)
        del chat.messages[message_id]
        if len(self.store.deleted_messages) >= self.store.history_limit:
            self.store.deleted_messages.clear()
        self.store.deleted_messages.add((chat.id, message_id))

    def _edit_message_text(self, p: Params) -> JsonDict:
        chat = self.access.target_chat(p.chat_ref())
        message_id = p.integer("message_id", required=True)
        message = chat.messages.get(message_id or 0)
        if message is None or message.get("from", {}).get("id") != self.store.bot_id:
            raise ApiError(400, MESSAGE_TO_EDIT_NOT_FOUND)
        text = p.text("text") or ""
        if not text.strip():
            raise ApiError(400, TEXT_EMPTY)
        markup = p.obj("reply_markup")
        if text == message.get("text") and markup == message.get("reply_markup"):
            raise ApiError(400, MESSAGE_NOT_MODIFIED)
        message["text"] = text
        message["edit_date"] = self.store.now()
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        self.store.remember(self.store.edited_messages, dict(message))
        return message

    def _edit_message_reply_markup(self, p: Params) -> JsonDict:
        chat = self.access.target_chat(p.chat_ref())
        message = chat.messages.get(p.integer("message_id", required=True) or 0)
        if message is None or message.get("from", {}).get("id") != self.store.bot_id:
            raise ApiError(400, MESSAGE_TO_EDIT_NOT_FOUND)
        markup = p.obj("reply_markup")
        if markup == message.get("reply_markup"):
            raise ApiError(400, MESSAGE_NOT_MODIFIED)
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        message["edit_date"] = self.store.now()
        return message

    def _get_chat_member(self, p: Params) -> JsonDict:
        ref = p.chat_ref()
        user_id = p.integer("user_id", required=True)
        assert user_id is not None
        chat = self.access.readable_chat(ref)
        if chat.type == "channel" and not self.access.bot_in(chat):
            raise ApiError(400, MEMBER_LIST_INACCESSIBLE)
        self.access.check_bot_access(chat)
        if user_id not in self.store.users:
            raise ApiError(400, USER_NOT_FOUND)
        return self.store.member_json(chat, user_id)

    def _get_chat_member_count(self, p: Params) -> int:
        chat = self.access.readable_chat(p.chat_ref())
        if chat.type != "channel" or self.access.bot_in(chat):
            self.access.check_bot_access(chat)
        members = sum(1 for uid in chat.members if self.store.is_member(chat.id, uid))
        return members + chat.extra_members

    def _get_chat(self, p: Params) -> JsonDict:
        chat = self.access.readable_chat(p.chat_ref())
        if chat.type != "channel" or self.access.bot_in(chat):
            self.access.check_bot_access(chat)
        info = self.store.chat_json(chat)
        info.update(
            accent_color_id=abs(chat.id) % 7,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        if chat.description:
            info["description"] = chat.description
        if chat.type == "private":
            return info
        if self.access.bot_in(chat) and self.access.bot_right(chat, "can_invite_users"):
            if chat.invite_link is None:
                chat.invite_link = self.store.make_link()
            info["invite_link"] = chat.invite_link
        if chat.type in ("group", "supergroup"):
            info["permissions"] = dict(chat.permissions or GROUP_DEFAULT_PERMISSIONS)
        if chat.linked_chat_id is not None:
            info["linked_chat_id"] = chat.linked_chat_id
        return info

    def _get_chat_administrators(self, p: Params) -> list[JsonDict]:
        chat = self.access.readable_chat(p.chat_ref())
        if chat.type == "channel" and not self.access.bot_in(chat):
            raise ApiError(400, MEMBER_LIST_INACCESSIBLE)
        self.access.check_bot_access(chat)
        return [
            self.store.member_json(chat, uid)
            for uid, member in chat.members.items()
            if member.status in ("creator", "administrator")
        ]

    def _answer_callback_query(self, p: Params) -> bool:
        query_id = p.text("callback_query_id") or ""
        if not self.builders.close_callback(query_id):
            raise ApiError(400, QUERY_TOO_OLD)
        self.store.remember(
            self.store.answered_callbacks,
            {
                "callback_query_id": query_id,
                "text": p.text("text"),
                "show_alert": p.flag("show_alert"),
                "url": p.text("url"),
            },
        )
        return True

    def _create_chat_invite_link(self, p: Params) -> JsonDict:
        chat = self.access.target_chat(p.chat_ref())
        if not self.access.bot_right(chat, "can_invite_users"):
            raise ApiError(400, NOT_ENOUGH_RIGHTS_INVITE)
        link: JsonDict = {
            "invite_link": self.store.make_link(),
            "creator": dict(self.store.bot_user),
            "creates_join_request": p.flag("creates_join_request"),
            "is_primary": False,
            "is_revoked": False,
        }
        if "name" in p:
            link["name"] = p.text("name")
        if "expire_date" in p:
            link["expire_date"] = p.integer("expire_date")
        if "member_limit" in p:
            link["member_limit"] = p.integer("member_limit")
        chat.invite_links.append(link)
        return link

    def _export_chat_invite_link(self, p: Params) -> str:
        chat = self.access.target_chat(p.chat_ref())
        if not self.access.bot_right(chat, "can_invite_users"):
            raise ApiError(400, NOT_ENOUGH_RIGHTS_INVITE)
        chat.invite_link = self.store.make_link()
        return chat.invite_link

    def _set_my_commands(self, p: Params) -> bool:
        commands = p.obj("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        if not all(isinstance(c, dict) and c.get("command") for c in commands):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        self.store.commands = [dict(c) for c in commands]
        return True

    def _get_my_commands(self, p: Params) -> list[JsonDict]:
        return list(self.store.commands)

    def _delete_my_commands(self, p: Params) -> bool:
        self.store.commands = []
        return True

    def _leave_chat(self, p: Params) -> bool:
        chat = self.access.target_chat(p.chat_ref())
        if chat.type == "channel":
            chat.members.pop(self.store.bot_id, None)
        else:
            chat.members[self.store.bot_id] = Member("left", is_member=False)
        return True
