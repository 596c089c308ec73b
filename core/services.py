from core.models import Heartbeat


def ping_record(*, token: str) -> str:
    Heartbeat.objects.get_or_create(token=token)
    return token
