#!/usr/bin/env python3
"""Finds circles of imports between the modules of a crate (`make lint` runs it on core and provider).

A module is a source file under `src/` (`a/b.rs` and `a/b/mod.rs` are `a::b`). Module A depends on module B when A's
code outside `#[cfg(test)]` names `crate::b::…` (in a `use`, a path or a `use super::…` resolved to its module), or
`super::…`/`self::…` paths that resolve to B. A circle is a strongly connected component of more than one module
(A uses B and B uses A, directly or around a loop). Test-only code is left out: a test module may use anything.

Usage: tools/check-import-cycles.py CRATE_DIR [CRATE_DIR …]   exit 1 and list the circles when there are any.
"""
import os
import re
import sys


def modules(src):
    """module path ('a::b', '' for the crate root) -> file text without its test module(s)."""
    out = {}
    for root, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(root, f), src)[:-3].split(os.sep)
            if rel[-1] == "mod":
                rel = rel[:-1]
            if rel in (["lib"], ["main"]):
                rel = []
            if rel and rel[0] == "bin":
                continue
            text = open(os.path.join(root, f), encoding="utf-8").read()
            out["::".join(rel)] = strip_tests(text)
    return out


def strip_tests(text):
    """The text without items under #[cfg(test)] (a `mod tests { … }` block or a `mod x;` declaration), and comments."""
    text = re.sub(r"//[^\n]*", "", text)
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]", text):
        if m.start() < i:
            continue
        out.append(text[i : m.start()])
        j = m.end()
        # Skip the item: up to a `;` before any `{`, or a balanced `{ … }`.
        depth, k = 0, j
        while k < len(text):
            c = text[k]
            if c == ";" and depth == 0:
                k += 1
                break
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    k += 1
                    break
            k += 1
        i = k
    out.append(text[i:])
    return "".join(out)


def resolve(path, here, mods):
    """The module a path (['crate','a','b','X'] or ['super', …]) names, as the longest known module prefix."""
    if path[0] == "crate":
        parts = path[1:]
    elif path[0] in ("super", "self"):
        base = here.split("::") if here else []
        parts = list(path)
        while parts and parts[0] in ("super", "self"):
            if parts[0] == "super":
                base = base[:-1]
            parts = parts[1:]
        parts = base + parts
    else:
        return None
    for n in range(len(parts), 0, -1):
        cand = "::".join(parts[:n])
        if cand in mods:
            return cand
    return None


def expand_use(body):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']"""
    body = re.sub(r"\s+", "", body)
    m = re.match(r"^(.*?)\{(.*)\}$", body)
    if not m:
        return [body]
    prefix, inner = m.group(1), m.group(2)
    items, depth, cur = [], 0, ""
    for c in inner:
        if c == "," and depth == 0:
            items.append(cur)
            cur = ""
            continue
        depth += c == "{"
        depth -= c == "}"
        cur += c
    if cur:
        items.append(cur)
    return [p for it in items for p in expand_use(prefix + it)]


def edges(mods):
    deps = {m: set() for m in mods}
    for here, text in mods.items():
        paths = []
        for m in re.finditer(r"\buse\s+([^;]+);", text):
            paths += expand_use(m.group(1))
        paths += re.findall(r"\b((?:crate|super|self)(?:::\w+)+)", text)
        for p in paths:
            parts = [x for x in re.split(r"::", p.split(" as ")[0]) if x]
            if not parts or parts[0] not in ("crate", "super", "self"):
                continue
            target = resolve(parts, here, mods)
            # A module's own children and parents are its own business (mod declarations, re-exports).
            if target is None or target == here or target == "" or here == "":
                continue
            deps[here].add(target)
    return deps


def sccs(deps):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(deps[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(deps):
        if v not in index:
            visit(v)
    return [c for c in out if len(c) > 1]


def main():
    bad = 0
    for crate in sys.argv[1:]:
        mods = modules(os.path.join(crate, "src"))
        deps = edges(mods)
        # A parent and its child modules (a directory module) are one unit: `a` declares `a::b`.
        for comp in sccs(deps):
            bad += 1
            print(f"{crate}: circle of {len(comp)} modules: {', '.join(comp)}")
            for m in comp:
                inside = sorted(d for d in deps[m] if d in comp)
                print(f"    {m} uses {', '.join(inside)}")
        print(f"{crate}: {len(mods)} modules, {sum(len(d) for d in deps.values())} module dependencies, "
              f"{len(sccs(deps))} circle(s)")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
