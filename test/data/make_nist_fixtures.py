#!/usr/bin/python3
"""Make the NIST StRD fixtures of sql/nist.sql from NIST's own files.

Reads the eleven linear least-squares problems (Norris.dat ... Wampler5.dat)
and cases.json from the shared reference data (default ../../../shared/data/nist
next to this script, or the directory given as the only argument), and writes
into test/data/nist/:

  <Name>.csv      header "y,x1,...,xp", one row per observation.  y and the
                  raw columns are the data strings exactly as in the .dat file.
                  For the polynomial problems (Pontius, Filip, Wampler1-5) the
                  column xk is x**k computed EXACTLY from the decimal data
                  string (fractions.Fraction) and then rounded once to the
                  nearest double (repr gives the shortest string that reads
                  back as that double).  The certified values are for the exact
                  data, so this is the closest float64 design there is; it does
                  not depend on the libm of the machine that runs the test, as
                  SQL power() on a float8 would, and it does not compound the
                  rounding of x itself into every power.
  certified.csv   header "problem,term,value": the certified coefficients B0..Bp
                  as NIST prints them (no B0 row for NoInt1/NoInt2, which have
                  no intercept).

Everything is parsed from the .dat files and cross-checked against cases.json
(data strings, certified values, row count, file checksum), so a damaged copy
of either fails here instead of in the test.  Run with /usr/bin/python3;
output is deterministic (byte-identical on every run).
"""
import csv
import hashlib
import io
import json
import os
import re
import sys
from fractions import Fraction

PROBLEMS = ["Norris", "Pontius", "NoInt1", "NoInt2", "Filip", "Longley",
            "Wampler1", "Wampler2", "Wampler3", "Wampler4", "Wampler5"]

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "nist")


def fail(msg):
    sys.exit("make_nist_fixtures: " + msg)


def parse_dat(path):
    """Certified coefficients {index: string} and data rows (lists of strings)."""
    with open(path, "rb") as f:
        raw = f.read()
    lines = raw.decode("ascii").splitlines()
    m = None
    for line in lines:
        m = re.search(r"Data\s*\(\s*lines\s+(\d+)\s+to\s+(\d+)\s*\)", line)
        if m:
            break
    if not m:
        fail("%s: no 'Data (lines A to B)' header" % path)
    first, last = int(m.group(1)), int(m.group(2))
    cert = {}
    for line in lines[:first - 1]:
        c = re.match(r"^\s*B(\d+)\s+(\S+)\s+(\S+)\s*$", line)
        if c:
            cert[int(c.group(1))] = c.group(2)
    rows = [line.split() for line in lines[first - 1:last] if line.strip()]
    return raw, cert, rows


def power_string(s, k):
    """x**k of the decimal string s, exact, rounded once to float64."""
    if k == 1:
        return s
    v = float(Fraction(s) ** k)
    return repr(v)


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.normpath(
        os.path.join(HERE, "..", "..", "..", "shared", "data", "nist"))
    with open(os.path.join(src, "cases.json")) as f:
        cases = {c["name"]: c for c in json.load(f)["cases"]}
    os.makedirs(OUT, exist_ok=True)
    cert_rows = []
    for name in PROBLEMS:
        case = cases[name]
        raw, cert, rows = parse_dat(os.path.join(src, case["file"]))
        # cross-checks against cases.json
        if hashlib.sha256(raw).hexdigest() != case["file_sha256"]:
            fail("%s: sha256 differs from cases.json" % case["file"])
        if rows != case["data"] or len(rows) != case["n_observations"]:
            fail("%s: data differs from cases.json" % name)
        want = case["certified"]["coefficients"]
        names = case["coefficient_names"]
        if [cert[int(n[1:])] for n in names] != want:
            fail("%s: certified values differ from cases.json" % name)
        if set("B%d" % i for i in cert) != set(names):
            fail("%s: coefficient names differ from cases.json" % name)
        if case["intercept"] != ("B0" in names):
            fail("%s: intercept flag inconsistent" % name)

        cols = case["columns"]
        yi = cols.index(case["response"])
        feats = case["features"]
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["y"] + ["x%d" % (j + 1) for j in range(len(feats))])
        for r in rows:
            vals = [r[yi]]
            for f in feats:
                pm = re.match(r"^(\w+)\^(\d+)$", f)
                if pm:
                    vals.append(power_string(r[cols.index(pm.group(1))], int(pm.group(2))))
                else:
                    vals.append(r[cols.index(f)])
            w.writerow(vals)
        with open(os.path.join(OUT, name + ".csv"), "w") as f:
            f.write(out.getvalue())
        for n in names:
            cert_rows.append([name, n, cert[int(n[1:])]])

    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["problem", "term", "value"])
    w.writerows(cert_rows)
    with open(os.path.join(OUT, "certified.csv"), "w") as f:
        f.write(out.getvalue())
    print("wrote %d problems and certified.csv to %s" % (len(PROBLEMS), OUT))


if __name__ == "__main__":
    main()
