"""The scope helper: each staff user sees only their financeurs (and territoires, for instructeurs)."""

from __future__ import annotations

import pytest

from subventions.campagnes.models import Enveloppe
from subventions.comptes.enums import Role
from subventions.comptes.scopes import a_role, oublier_habilitations, perimetre, scope_queryset
from subventions.referentiel.models import Territoire
from tests.factories import CampagneFactory, EnveloppeFactory, FinanceurFactory, TerritoireFactory, UserFactory, agent

pytestmark = pytest.mark.django_db


@pytest.fixture
def deux_financeurs():
    etat, ville = FinanceurFactory(code="etat"), FinanceurFactory(code="ville")
    campagne = CampagneFactory(financeurs=[etat, ville])
    return (
        etat,
        ville,
        EnveloppeFactory(campagne=campagne, financeur=etat),
        EnveloppeFactory(campagne=campagne, financeur=ville),
    )


def test_instructeur_sees_only_their_financeur(deux_financeurs):
    etat, ville, env_etat, env_ville = deux_financeurs
    user = agent(Role.INSTRUCTEUR, financeurs=[etat])
    assert list(scope_queryset(Enveloppe.objects.all(), user, roles=[Role.INSTRUCTEUR])) == [env_etat]


def test_role_not_held_sees_nothing(deux_financeurs):
    etat, *_ = deux_financeurs
    user = agent(Role.INSTRUCTEUR, financeurs=[etat])
    assert not scope_queryset(Enveloppe.objects.all(), user, roles=[Role.FINANCE]).exists()
    assert not scope_queryset(Enveloppe.objects.all(), UserFactory(), roles=list(Role)).exists()


def test_transversal_and_superuser_see_everything(deux_financeurs):
    assert scope_queryset(Enveloppe.objects.all(), agent(Role.COMITE, tous=True), roles=[Role.COMITE]).count() == 2
    root = UserFactory(is_superuser=True)
    assert scope_queryset(Enveloppe.objects.all(), root, roles=[Role.FINANCE]).count() == 2


def test_inactive_habilitation_or_user_sees_nothing(deux_financeurs):
    etat, *_ = deux_financeurs
    user = agent(Role.INSTRUCTEUR, financeurs=[etat])
    assert scope_queryset(Enveloppe.objects.all(), user, roles=[Role.INSTRUCTEUR]).exists()
    user.habilitations.update(actif=False)
    oublier_habilitations(user)
    assert not scope_queryset(Enveloppe.objects.all(), user, roles=[Role.INSTRUCTEUR]).exists()


def test_instructeur_territoires_narrow_the_scope():
    t1, t2 = TerritoireFactory(), TerritoireFactory()
    etat = FinanceurFactory()
    user = agent(Role.INSTRUCTEUR, financeurs=[etat], territoires=[t1])
    p = perimetre(user, [Role.INSTRUCTEUR])
    assert not p.tous_territoires and p.territoire_ids == {t1.pk}
    qs = scope_queryset(
        Territoire.objects.all(), user, roles=[Role.INSTRUCTEUR], financeur_field=None, territoire_field="pk"
    )
    assert list(qs) == [t1]
    assert t2 not in qs
    # The same territoires on a comité habilitation do not narrow it: only instructeurs are territorial.
    comite = agent(Role.COMITE, financeurs=[etat], territoires=[t1])
    assert perimetre(comite, [Role.COMITE]).tous_territoires


def test_many_valued_path_is_distinct():
    etat, ville = FinanceurFactory(), FinanceurFactory()
    campagne = CampagneFactory(financeurs=[etat, ville])
    user = agent(Role.INSTRUCTEUR, financeurs=[etat, ville])
    qs = scope_queryset(type(campagne).objects.all(), user, roles=[Role.INSTRUCTEUR], financeur_field="financeurs")
    assert list(qs) == [campagne]


def test_every_perimeter_of_a_request_costs_one_query(django_assert_num_queries):
    """The habilitations are read once (with their financeurs and territoires), then every set of roles, a_role and
    User.roles are answered from memory, however many financeurs and territoires the habilitations hold."""
    financeurs = [FinanceurFactory() for _ in range(4)]
    territoires = [TerritoireFactory() for _ in range(3)]
    user = agent(Role.INSTRUCTEUR, financeurs=financeurs[:3], territoires=territoires)
    comite = user.habilitations.create(role=Role.COMITE)
    comite.financeurs.set(financeurs[2:])
    user = type(user).objects.get(pk=user.pk)  # a fresh object, as request.user is
    with django_assert_num_queries(1):
        assert a_role(user, Role.COMITE) and not a_role(user, Role.FINANCE)
        instruction = perimetre(user, [Role.INSTRUCTEUR])
        decision = perimetre(user, [Role.COMITE])
        les_deux = perimetre(user, [Role.INSTRUCTEUR, Role.COMITE])
        assert perimetre(user, [Role.FINANCE]).vide
        assert user.roles == {Role.INSTRUCTEUR, Role.COMITE}
    ids = lambda objets: frozenset(o.pk for o in objets)  # noqa: E731
    assert instruction.financeur_ids == ids(financeurs[:3]) and instruction.territoire_ids == ids(territoires)
    assert not instruction.tous_territoires and not instruction.tous_financeurs
    assert decision.financeur_ids == ids(financeurs[2:]) and decision.tous_territoires
    # The union of both: a comité habilitation is not territorial, so it opens every territoire.
    assert les_deux.financeur_ids == ids(financeurs) and les_deux.tous_territoires


def test_transversal_habilitation_and_forgetting_the_cache():
    user = agent(Role.FINANCE, tous=True)
    assert perimetre(user, [Role.FINANCE]).tous_financeurs
    assert not a_role(user, Role.ADMINISTRATEUR)
    user.habilitations.create(role=Role.ADMINISTRATEUR, tous_financeurs=True)
    assert not a_role(user, Role.ADMINISTRATEUR)  # cached for the request (the user object)
    oublier_habilitations(user)
    assert a_role(user, Role.ADMINISTRATEUR) and Role.ADMINISTRATEUR in user.roles
