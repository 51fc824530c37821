"""Sign-in where the username's case does not matter ("Edward" and "edward" are one account)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from aliyun_oauth.services import with_linked_account


class CaseInsensitiveModelBackend(ModelBackend):
    """Django's ``ModelBackend`` with a case-insensitive username match.

    An exact match wins; when only case-insensitive matches exist and there are several, nobody is
    signed in (ambiguous). Runs the password hasher on a miss, as ``ModelBackend`` does, so timing
    does not reveal which usernames exist.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        user_model = get_user_model()
        if username is None:
            username = kwargs.get(user_model.USERNAME_FIELD)
        if username is None or password is None:
            return None
        field = user_model.USERNAME_FIELD
        candidates = list(user_model._default_manager.filter(**{f"{field}__iexact": username}))
        exact = [u for u in candidates if getattr(u, field) == username]
        if exact:
            user = exact[0]
        elif len(candidates) == 1:
            user = candidates[0]
        else:
            user_model().set_password(password)  # same cost as a real check
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id):
        """The signed-in user of a request (``ModelBackend.get_user``), with the linked Alibaba
        Cloud account in the same query: the softphone proxy's every call needs both."""
        try:
            user = with_linked_account(get_user_model()._default_manager).get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
