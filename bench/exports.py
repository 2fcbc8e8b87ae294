"""Exports of a payment liste (SEPA, CSV, XLSX) at 50 000 rows: the product's writers against sepaxml / csv /
openpyxl writing the same rows from plain tuples, with time and tracemalloc peak of each."""

from __future__ import annotations

import csv
import datetime
import io
import zipfile
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from schwifty import IBAN
from sepaxml import SepaTransfer

from bench.harness import Figure, Report, interleave_forked, median, run_forked
from subventions.paiements import exports

BICS = ("BNPAFRPPXXX", "CEPAFRPP131", "AGRIFRPP813", "SOGEFRPPXXX", "CCOPFRPPXXX", "PSSTFRPPMAR")
NATURES = ("Avance", "Acompte", "Solde")
CENTIME = Decimal("0.01")


def build_rows(n: int) -> tuple[exports.EnteteListe, list[exports.LigneExport]]:
    """A liste of `n` payments of the État to 2 000 porteurs (valid IBANs and BICs, French names with accents and
    guillemets, amounts in cents), as the product snapshots them (services.ligne_export). No database."""
    ibans = [IBAN.generate("FR", bank_code="3000400000", account_code=f"{i:011d}").compact for i in range(2000)]
    lignes = []
    for i in range(n):
        p = i % 2000
        lignes.append(
            exports.LigneExport(
                reference=f"PAI-ETAT-2015-{i + 1:06d}",
                financeur="État — Agence nationale de la cohésion des territoires (ANCT)",
                acte_numero=f"ETAT-2015-{i // 3 + 1:05d}",
                exercice=2015,
                porteur=f"Association « Vivre ensemble à Noailles » n° {p}",
                siret=f"{78285569600012 + p * 10:014d}",
                iban=ibans[p],
                bic=BICS[p % len(BICS)],
                nature=NATURES[i % 3],
                montant=(Decimal(1500 + (i * 7919) % 48000) + Decimal(i % 100) / 100).quantize(CENTIME),
                echeance=datetime.date(2015, 7, 1) + datetime.timedelta(days=i % 150),
                engagement_juridique=f"21{i // 3:08d}",
                centre_financier="0147-CDBU-DR13",
                domaine_fonctionnel="0147-01",
                activite="014701020101",
            )
        )
    entete = exports.EnteteListe(
        numero="LP-ETAT-2015-0001",
        cree_le=datetime.datetime(2015, 7, 1, 10, 30, tzinfo=datetime.UTC),
        date_execution=datetime.date(2015, 7, 2),
        debiteur_nom="État — Agence nationale de la cohésion des territoires (ANCT)",
        debiteur_iban=IBAN.generate("FR", bank_code="3000100000", account_code="C0130000").compact,
        debiteur_bic="BDFEFRPPCCT",
    )
    return entete, lignes


# --- Floors: the bare libraries writing the same rows from plain tuples -------------------------------------------


def tuples_csv(lignes) -> list[tuple]:
    return [
        (
            x.reference, x.financeur, x.acte_numero, x.exercice, x.porteur, x.siret, x.iban, x.bic, x.nature,
            x.montant, x.echeance, x.engagement_juridique, x.centre_financier, x.domaine_fonctionnel, x.activite,
        )
        for x in lignes
    ]  # fmt: skip


def floor_csv(rows: list[tuple]) -> bytes:
    sortie = io.StringIO(newline="")
    writer = csv.writer(sortie, delimiter=";", lineterminator="\r\n")
    writer.writerow(exports.COLONNES)
    for r in rows:
        e = r[10]
        writer.writerow(
            (*r[:9], str(r[9]).replace(".", ","), f"{e.day:02d}/{e.month:02d}/{e.year}", r[11], r[12], r[13], r[14])
        )
    return sortie.getvalue().encode("utf-8-sig")


def floor_xlsx(entete, rows: list[tuple]) -> bytes:
    """openpyxl in write-only mode (rows streamed to the file), with the same typed cells, formats, bold header and
    totals row, frozen header and column widths."""
    classeur = Workbook(write_only=True)
    naif = entete.cree_le.replace(tzinfo=None, microsecond=0)
    classeur.properties.created = classeur.properties.modified = naif
    classeur.properties.creator = "Subventions"
    classeur.properties.title = f"Liste de paiements {entete.numero}"
    feuille = classeur.create_sheet("Paiements")
    feuille.freeze_panes = "A2"
    for i, titre in enumerate(exports.COLONNES, start=1):
        feuille.column_dimensions[get_column_letter(i)].width = max(12, min(40, len(titre) + 4))
    gras = Font(bold=True)

    def cellule(valeur, *, fmt=None, bold=False):
        c = WriteOnlyCell(feuille, value=valeur)
        if fmt:
            c.number_format = fmt
        if bold:
            c.font = gras
        return c

    feuille.append([cellule(t, bold=True) for t in exports.COLONNES])
    total = Decimal("0.00")
    for r in rows:
        total += r[9]
        feuille.append(
            [*r[:9], cellule(r[9], fmt=exports.FORMAT_EUROS), cellule(r[10], fmt=exports.FORMAT_DATE), *r[11:]]
        )
    totaux = [cellule("", bold=True) for _ in exports.COLONNES]
    totaux[0] = cellule("Total", bold=True)
    totaux[8] = cellule(f"{len(rows)} paiement(s)", bold=True)
    totaux[9] = cellule(total, fmt=exports.FORMAT_EUROS, bold=True)
    feuille.append(totaux)
    sortie = io.BytesIO()
    classeur.save(sortie)
    return sortie.getvalue()


def tuples_sepa(entete, lignes) -> tuple[dict, list[tuple]]:
    """The debtor's config and, per payment, (name, IBAN, BIC, cents, description, end-to-end id), already in the
    SEPA character set: what a caller of sepaxml would hold."""
    config = {
        "name": exports.texte_sepa(entete.debiteur_nom, 70),
        "IBAN": entete.debiteur_iban,
        "BIC": entete.debiteur_bic,
        "batch": True,
        "currency": "EUR",
    }
    rows = [
        (
            exports.texte_sepa(x.porteur, 70),
            x.iban,
            x.bic,
            int(x.montant * 100),
            exports.texte_sepa(x.libelle_virement, 140),
            exports.identifiant_sepa(x.reference),
        )
        for x in lignes
    ]
    return config, rows


def floor_sepa(config: dict, rows: list[tuple], date_execution, *, validate: bool = True) -> bytes:
    """sepaxml as its README shows it, export() with its default XSD validation (xmlschema). The product validates
    against the same XSD with lxml instead; `validate=False` (no check at all) is printed as an info line."""
    virement = SepaTransfer(config, schema="pain.001.001.03", clean=True)
    for nom, iban, bic, centimes, libelle, e2e in rows:
        virement.add_payment(
            {
                "name": nom,
                "IBAN": iban,
                "BIC": bic,
                "amount": centimes,
                "execution_date": date_execution,
                "description": libelle,
                "endtoend_id": e2e,
            }
        )
    return virement.export(validate=validate)


# --- The benchmark ------------------------------------------------------------------------------------------------


def _cap_memoire(cap: float | None, runs) -> float | None:
    """tracemalloc slows allocation-heavy code up to ten times (xmlschema's validation: eight): a writer that finished
    under the cap gets ten times its slowest run; one that was already stopped is stopped again (a lower bound)."""
    if not cap:
        return None
    return cap if any(r.capped for r in runs) else max(cap, 10 * max(r.seconds for r in runs))


def run(report: Report, *, n: int, repeat: int, budget: float, cap: float | None, tracemalloc: bool = True) -> None:
    entete, lignes = build_rows(n)
    csv_rows = tuples_csv(lignes)
    config, sepa_rows = tuples_sepa(entete, lignes)
    report.note(f"exports: {n} payments to 2 000 porteurs, built in memory (no database)")

    # Same rows, same bytes: the CSV floor must write exactly the product's file (checked on a slice).
    echantillon = lignes[:2000]
    if floor_csv(tuples_csv(echantillon)) != exports.csv_liste(entete, echantillon):
        report.note("warning: the CSV floor does not write the same bytes as the product")
    # The SEPA floor must produce the same transactions (checked on a slice: same count and same total).
    produit, plancher = (
        exports.sepa_liste(entete, lignes[:500]),
        floor_sepa(config, sepa_rows[:500], entete.date_execution),
    )
    if produit.count(b"<CdtTrfTxInf>") != plancher.count(b"<CdtTrfTxInf>"):
        report.note("warning: the SEPA floor does not write the same number of transactions")
    # The XLSX floor must write the same sheet: same cells, types, styles, widths and frozen row (checked on a slice).
    feuille = "xl/worksheets/sheet1.xml"
    produit_xlsx = zipfile.ZipFile(io.BytesIO(exports.xlsx_liste(entete, echantillon))).read(feuille)
    plancher_xlsx = zipfile.ZipFile(io.BytesIO(floor_xlsx(entete, tuples_csv(echantillon)))).read(feuille)
    if produit_xlsx != plancher_xlsx:
        report.note("warning: the XLSX floor does not write the same sheet XML as the product")

    cas = [
        ("exports.csv", lambda: exports.csv_liste(entete, lignes), lambda: floor_csv(csv_rows)),
        ("exports.xlsx", lambda: exports.xlsx_liste(entete, lignes), lambda: floor_xlsx(entete, csv_rows)),
        (
            "exports.sepa",
            lambda: exports.sepa_liste(entete, lignes),
            lambda: floor_sepa(config, sepa_rows, entete.date_execution),
        ),
    ]
    for nom, produit_fn, plancher_fn in cas:
        produits, planchers = interleave_forked(produit_fn, plancher_fn, repeat=repeat, budget=budget, cap=cap)
        plafonne = any(r.capped for r in produits)
        fig = report.figure(
            Figure(
                f"{nom}_{n}",
                median([r.seconds for r in produits]) * 1000,
                median([r.seconds for r in planchers]) * 1000,
                "ms",
                lower_bound=plafonne,
            )
        )
        if plafonne:
            report.note(f"{nom}: the product run was stopped at the {cap:.0f} s cap (a lower bound; --cap 0 waits)")
        figures = [fig]
        rss_p = [r.rss for r in produits if r.rss is not None]
        rss_f = [r.rss for r in planchers if r.rss is not None]
        if rss_p and rss_f:
            figures.append(
                report.figure(
                    Figure(
                        f"{nom}_{n}.peak_rss",
                        median(rss_p) / 1e6,
                        median(rss_f) / 1e6,
                        "MB",
                        lower_bound=plafonne,
                    )
                )
            )
        if tracemalloc:
            mem_produit = run_forked(produit_fn, memory=True, cap=_cap_memoire(cap, produits))
            mem_plancher = run_forked(plancher_fn, memory=True, cap=_cap_memoire(cap, planchers))
            if mem_plancher.capped:
                report.note(f"warning: {nom}: the floor's tracemalloc run was stopped, its peak is a lower bound")
            figures.append(
                report.figure(
                    Figure(
                        f"{nom}_{n}.peak_memory",
                        mem_produit.peak / 1e6,
                        mem_plancher.peak / 1e6,
                        "MB",
                        lower_bound=mem_produit.capped,
                    )
                )
            )
        if nom == "exports.sepa":
            brut = run_forked(lambda: floor_sepa(config, sepa_rows, entete.date_execution, validate=False), cap=cap)
            rss = f", peak RSS {brut.rss / 1e6:.0f} MB" if brut.rss is not None else ""
            report.fact(
                f"{nom}_{n}.unvalidated: {brut.seconds * 1000:.0f} ms{rss} for sepaxml with export(validate=False) "
                f"and no XSD check at all (info; the product checks with lxml, the floor with sepaxml's xmlschema)"
            )
        for f in figures:
            if f.ratio > 2:
                report.miss(f"{f.name} ratio {'>' if f.lower_bound else ''}{f.ratio:.2f} > 2.0")
