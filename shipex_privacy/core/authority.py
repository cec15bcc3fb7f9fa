"""The state authority for personal data, named in one place.

Screens, help texts and letters that name the authorised state body for personal data (Law ZRU-547)
use this constant, so the next renaming is a one-line change. Since the reorganisation it is the
Personalization Agency under the Ministry of Justice (formerly the State Personalization Centre).
Source: public summaries of the law by Uzbek law firms (issue 14); to be confirmed by counsel.
"""

from django.utils.translation import gettext_lazy as _

AUTHORITY_NAME = _("Personalization Agency under the Ministry of Justice")
