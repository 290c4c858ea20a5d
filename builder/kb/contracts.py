"""Interface contracts between products, and whether a product can really be swapped.

A product is defined by its surfaces: `interfaces` it provides and `consumes` entries
(`product-id/interface-name`) naming the surfaces of others it uses. These checks keep the
contracts honest; `swaps` tells each product page who would notice a swap and which
alternatives offer the same surfaces. Pure: runs in `kb lint`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from kb.findings import Finding, Severity, finding
from kb.link import Graph, closest
from kb.model import Collection, Document


def interfaces(doc: Document | None) -> list[str]:
    """The interface names a product declares."""
    if doc is None or not doc.readable:
        return []
    return [i.name for i in doc.product.interfaces]


def check_contracts(graph: Graph, require_non_goals: bool) -> list[Finding]:
    """KB412 unknown consumed interface, KB413 one-sided alternatives, KB414 missing non_goals."""
    found: list[Finding] = []
    products = graph.by_id[Collection.PRODUCT]
    for doc in products.values():
        if not doc.readable:
            continue
        found.extend(_consumes(doc, products))
        found.extend(_alternatives(doc, products))
        if require_non_goals and not doc.product.non_goals:
            found.append(
                finding(
                    doc.path,
                    1,
                    1,
                    "KB414",
                    f"product '{doc.id}' has no non_goals",
                    "list what it deliberately does not do: its boundary",
                )
            )
    return found


def _consumes(doc: Document, products: dict[str, Document]) -> list[Finding]:
    out = []
    seen: Counter[str] = Counter()
    for entry in doc.product.consumes:
        line, col = doc.front.item_pos("consumes", entry, seen[entry])
        seen[entry] += 1
        provider_id, sep, name = entry.partition("/")
        provider = products.get(provider_id)
        if not sep or not name:
            out.append(
                finding(
                    doc.path,
                    line,
                    col,
                    "KB412",
                    f"consumes '{entry}' is not product-id/interface-name",
                    "write it as e.g. kb/kb lint",
                )
            )
        elif provider is None:
            close = closest(provider_id, products)
            out.append(
                finding(
                    doc.path,
                    line,
                    col,
                    "KB402",
                    f"unknown product '{provider_id}' in consumes",
                    f"did you mean '{close}'?" if close else "no product has that id",
                )
            )
        elif name not in interfaces(provider):
            offered = interfaces(provider)
            close = closest(name, offered)
            hint = (
                f"did you mean '{close}'?"
                if close
                else (
                    f"{provider_id} declares: {', '.join(offered)}"
                    if offered
                    else f"{provider_id} declares no interfaces"
                )
            )
            out.append(
                finding(doc.path, line, col, "KB412", f"'{provider_id}' declares no interface '{name}'", hint)
            )
    return out


def _alternatives(doc: Document, products: dict[str, Document]) -> list[Finding]:
    out = []
    seen: Counter[str] = Counter()
    for alt in doc.product.alternatives:
        nth = seen[alt]
        seen[alt] += 1
        other = products.get(alt)
        if other is None or other is doc or not other.readable:
            continue
        if doc.id not in other.product.alternatives:
            line, col = doc.front.item_pos("alternatives", alt, nth)
            item = finding(
                doc.path,
                line,
                col,
                "KB413",
                f"'{alt}' is an alternative here but does not list '{doc.id}'",
                f"add '{doc.id}' to the alternatives of {other.path}",
            )
            out.append(replace(item, severity=Severity.WARNING))
    return out


@dataclass(frozen=True)
class Swap:
    """For one interface of a product: who consumes it, and which alternatives offer it too."""

    interface: str
    consumers: tuple[str, ...]  # product keys
    providers: tuple[str, ...]  # keys of alternatives declaring an interface of the same name


def swaps(graph: Graph, doc: Document) -> list[Swap]:
    products = graph.by_id[Collection.PRODUCT]
    alternatives = [products[a] for a in doc.product.alternatives if a in products]
    out = []
    for name in interfaces(doc):
        consumers = tuple(
            sorted(
                p.key for p in products.values() if p.readable and f"{doc.id}/{name}" in p.product.consumes
            )
        )
        providers = tuple(a.key for a in alternatives if name in interfaces(a))
        out.append(Swap(name, consumers, providers))
    return out
