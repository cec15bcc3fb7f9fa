"""What a browser would post from an admin page: the values of the change form as rendered.

Read from the HTML, so every widget (split date and time, selects, inline rows, hidden fields such
as the page's version) posts exactly what the page shows, without a hand-written table per admin.
"""

from html.parser import HTMLParser


class _FormReader(HTMLParser):
    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.values = form_id, False, []
        self._select, self._select_multiple, self._selected, self._textarea = None, False, [], None
        self._option_value, self._first_option = None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "image", "file", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.values.append((name, attrs.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "textarea" and name:
            self._textarea = [name, ""]
        elif tag == "select" and name:
            self._select, self._select_multiple = name, "multiple" in attrs
            self._selected, self._first_option = [], None
        elif tag == "option" and self._select:
            value = attrs.get("value", "")
            if self._first_option is None:
                self._first_option = value
            if "selected" in attrs:
                self._selected.append(value)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if not self.inside:
            return
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self._textarea is not None:
            name, text = self._textarea
            self.values.append((name, text[1:] if text.startswith("\n") else text))
            self._textarea = None
        elif tag == "select" and self._select:
            chosen = self._selected or ([] if self._select_multiple or self._first_option is None
                                        else [self._first_option])
            self.values.extend((self._select, value) for value in chosen)
            self._select = None


def form_values(html: str, form_id: str) -> dict[str, list[str]]:
    """``{name: [values]}`` of the form with ``id=form_id``, as the browser would submit it."""
    reader = _FormReader(form_id)
    reader.feed(html)
    values: dict[str, list[str]] = {}
    for name, value in reader.values:
        values.setdefault(name, []).append(value)
    return values


def change_form_values(response) -> dict[str, list[str]]:
    """The values of an admin change page's form (``<form id="<model>_form">``)."""
    opts = response.context["opts"]
    return form_values(response.content.decode(), f"{opts.model_name}_form")


def page_version(client, obj) -> dict[str, str]:
    """The version the change page of ``obj`` carries now, as its form posts it (``**page_version(…)``)."""
    from django.urls import reverse

    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return {"page_version": change_form_values(client.get(url))["page_version"][0]}
