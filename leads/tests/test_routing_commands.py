"""`manage.py import_routing_rules FILE [--json]` and `export_routing_rules [--out FILE]`."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from agents.models import Team
from leads.models import RoutingRule

pytestmark = pytest.mark.django_db

HEADER = "position,name,team,source,country,email_domain,company_contains,classification\n"


@pytest.fixture(autouse=True)
def teams():
    return [Team.objects.create(name=n) for n in ("EMEA", "Key accounts", "Équipe Web")]


def import_rules(tmp_path, text: str, *, encoding="utf-8", json_out=True):
    path = tmp_path / "rules.csv"
    path.write_bytes(text.encode(encoding))
    out = StringIO()
    call_command("import_routing_rules", str(path), *(["--json"] if json_out else []), stdout=out)
    return json.loads(out.getvalue()) if json_out else out.getvalue()


def export_rules() -> str:
    out = StringIO()
    call_command("export_routing_rules", stdout=out)
    return out.getvalue()


def test_it_replaces_the_rule_set_and_says_how_many(tmp_path, teams):
    RoutingRule.objects.create(position=7, name="old", team=teams[0])
    summary = import_rules(
        tmp_path,
        HEADER + "1,Key,key accounts,,,acme.com|globex.com,,\n2,France,emea,,France| Belgique ,,,Fresh|urgent\n",
    )
    assert summary == {"rules": 2, "replaced": 1}
    rules = list(RoutingRule.objects.values_list("position", "name", "team__name", "country", "classification"))
    assert rules == [(1, "Key", "Key accounts", "", ""), (2, "France", "EMEA", "France| Belgique", "fresh|urgent")]


def test_columns_may_come_in_any_order_in_any_case_with_a_bom_and_semicolons(tmp_path):
    header = "\ufeffTeam;Position;Name;Source;Country;Email domain;Company contains;Classification\n"
    text = header + "Equipe web;3;Web;web;;;;\n"
    assert import_rules(tmp_path, text, encoding="utf-8") == {"rules": 1, "replaced": 0}
    assert RoutingRule.objects.get().team.name == "Équipe Web"


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        (
            HEADER + "1,A,Nowhere,,,,,\n",
            ["line 2, column team: no team 'Nowhere' (teams: EMEA, Key accounts, Équipe Web)"],
        ),
        (
            HEADER.replace("classification", "classification,priority") + "1,A,EMEA,,,,,,1\n",
            [
                "line 1, column 9 ('priority'): unknown column (the columns: position, name, team, source, country, "
                "email_domain, company_contains, classification)"
            ],
        ),
        (
            HEADER + "1,A,EMEA,,,,,hot|fresh\n",
            ["line 2, column classification: 'hot' is not a lead class (fresh, urgent, active, stale, closed)"],
        ),
        (
            HEADER + "1,A,EMEA,,,,,\n\n2,B,EMEA,,,,,\n2,C,EMEA,,,,,\n",
            ["line 5, column position: 2 is also the position on line 4"],
        ),
        (HEADER + "0,A,EMEA,,,,,\n", ["line 2, column position: '0' is not a whole number from 1"]),
        (
            "position,name,team\n1,A,EMEA\n",
            ["line 1: missing column(s) source, country, email_domain, company_contains, classification"],
        ),
        (HEADER + '1,"A\nB",EMEA,,,,,\n2,,,,,,,\n', ["line 4, column name: missing", "line 4, column team: missing"]),
    ],
)
def test_a_bad_file_is_refused_with_each_line_and_column_and_nothing_changes(tmp_path, teams, text, problems):
    RoutingRule.objects.create(position=1, name="kept", team=teams[0])
    with pytest.raises(CommandError) as error:
        import_rules(tmp_path, text)
    assert error.value.returncode == 2
    for problem in problems:
        assert problem in str(error.value)
    assert "no rule was changed" in str(error.value)
    assert list(RoutingRule.objects.values_list("name", flat=True)) == ["kept"]


def test_an_unreadable_file_is_refused_with_one_line(tmp_path):
    with pytest.raises(CommandError, match="no such file") as error:
        call_command("import_routing_rules", str(tmp_path / "missing.csv"))
    assert error.value.returncode == 2


def test_export_then_import_round_trips_exactly(tmp_path, teams):
    RoutingRule.objects.create(
        position=2, name="France, Belgium", team=teams[0], country="France|Belgïque", classification="fresh|urgent"
    )
    RoutingRule.objects.create(
        position=1, name='Key "A"', team=teams[1], email_domain="acme.com", company_contains="inc"
    )
    exported = export_rules()
    assert exported.splitlines()[0] == HEADER.strip()
    assert import_rules(tmp_path, exported) == {"rules": 2, "replaced": 2}
    assert export_rules() == exported


def test_export_writes_to_a_file(tmp_path, teams):
    RoutingRule.objects.create(position=1, name="A", team=teams[0])
    err = StringIO()
    call_command("export_routing_rules", "--out", str(tmp_path / "out.csv"), stderr=err)
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == export_rules()
    assert "1 routing rules written" in err.getvalue()
    with pytest.raises(CommandError, match="cannot be written") as error:
        call_command("export_routing_rules", "--out", str(tmp_path))
    assert error.value.returncode == 2
