"""A real SMTP server for the tests (aiosmtpd), on 127.0.0.1 and a free port, that keeps what arrives."""

import email
import email.policy
import socket
from dataclasses import dataclass

from aiosmtpd.controller import Controller


@dataclass
class Arrived:
    """One mail as the server received it: the envelope's recipients and the parsed message."""

    recipients: list[str]
    message: email.message.EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"]).strip()  # a folded, encoded header may keep a leading space

    @property
    def text(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(preferencelist=("html",)).get_content()


class Inbox:
    """aiosmtpd's handler: every message accepted is kept, in order."""

    def __init__(self):
        self.mails: list[Arrived] = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.mails.append(Arrived(list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Arrived]:
        return [mail for mail in self.mails if address in mail.recipients]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    def __init__(self):
        self.inbox = Inbox()
        self.port = free_port()
        self.controller = None

    def start(self):
        # A stopped controller does not start again: a new one listens on the same port.
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        self.controller.stop()
