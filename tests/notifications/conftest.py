import pytest

from tests.notifications.smtp import SmtpServer


@pytest.fixture
def smtp(settings):
    """Django's SMTP backend pointed at a real SMTP server in this process; yields its inbox."""
    server = SmtpServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    server.inbox.server = server
    yield server.inbox
    server.stop()
