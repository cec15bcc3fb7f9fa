"""Where staff e-mail goes comes from the environment; production sends it only through a mail server."""

from tests.core.test_settings import PRODUCTION, STRONG_KEY, run

SHOW_EMAIL = ("from django.conf import settings as s; "
              "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS, s.EMAIL_HOST_USER)")


def test_production_refuses_a_console_or_file_backend():
    result = run("manage.py", "check", **PRODUCTION, DJANGO_SECRET_KEY=STRONG_KEY, EMAIL_URL="consolemail://")
    assert result.returncode == 1
    assert "EMAIL_URL must be an SMTP URL in production" in result.stderr


def test_email_url_sets_the_smtp_server():
    result = run("manage.py", "shell", "--no-imports", "-c", SHOW_EMAIL, **PRODUCTION, DJANGO_SECRET_KEY=STRONG_KEY,
                 EMAIL_URL="smtp+tls://postman:secret@smtp.shipex.uz:587")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.core.mail.backends.smtp.EmailBackend", "smtp.shipex.uz", "587", "True",
                                     "postman"]
