import os

from django.core.asgi import get_asgi_application

from crm.env import one_line_settings_errors

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
with one_line_settings_errors():
    application = get_asgi_application()
