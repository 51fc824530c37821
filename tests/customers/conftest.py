"""Fixtures for the customers tests: roles, users and a few customers."""

import pytest
from django.contrib.auth.models import Group, Permission

from customers.services import ensure_customer


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    """A cheap hasher: these tests are about access, not key stretching."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def roles(db):
    """The Agents and Supervisors groups as bootstrap_demo sets them up."""
    from customers.roles import ROLE_PERMISSIONS

    groups = {}
    for name, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(
            Permission.objects.filter(content_type__app_label="customers", codename__in=codenames)
        )
        groups[name] = group
    return groups


@pytest.fixture
def agent(roles, django_user_model):
    user = django_user_model.objects.create_user("edward", password="1234")
    user.groups.add(roles["Agents"])
    return user


@pytest.fixture
def supervisor(roles, django_user_model):
    user = django_user_model.objects.create_user("boss", password="pw-boss-1", is_staff=True)
    user.groups.add(roles["Supervisors"])
    return user


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


@pytest.fixture
def supervisor_client(client, supervisor):
    client.force_login(supervisor)
    return client


@pytest.fixture
def mr_lu(db):
    return ensure_customer("Mr Lu", ["135012345678"], company="Alibaba Cloud demo")[0]
