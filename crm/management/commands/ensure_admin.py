import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from crm.env import env_str

PASSWORD_FILE = settings.BASE_DIR / "var" / "admin_password"


class Command(BaseCommand):
    help = (
        "Create or update the admin superuser and print its login. The password comes from ADMIN_PASSWORD; "
        "without it, one is generated once, kept in var/admin_password (mode 0600) and reused on later runs."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default=env_str("ADMIN_USER", "admin"))

    def handle(self, *args, username, **options):
        password = env_str("ADMIN_PASSWORD", "") or self.stored_or_new_password()
        User = get_user_model()
        user, created = User.objects.get_or_create(username=username, defaults={"email": f"{username}@localhost"})
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(password)
        user.save()
        self.stdout.write(f"Admin login: {username} / {password}  ({'created' if created else 'updated'})")

    def stored_or_new_password(self) -> str:
        if PASSWORD_FILE.exists():
            return PASSWORD_FILE.read_text().strip()
        password = secrets.token_urlsafe(12)
        PASSWORD_FILE.parent.mkdir(parents=True, exist_ok=True)
        PASSWORD_FILE.touch(mode=0o600)
        PASSWORD_FILE.write_text(password + "\n")
        return password
