#!/usr/bin/python3
"""The digits fixture of sql/compression.sql and bench/compress.sh.

Run with Debian's /usr/bin/python3 (python3-sklearn 1.2) from any directory;
it rewrites digits.csv next to this script:

  digits.csv   scikit-learn's load_digits(): 1797 rows of 8 x 8 images of
               handwritten digits, columns id (1 .. 1797, in load_digits
               order), p0 .. p63 (pixel intensities 0 .. 16, integers, row
               by row) and digit (the class, 0 .. 9).

The data ships with scikit-learn (no download), so the file is reproducible
byte for byte.
"""
import csv
import os

from sklearn.datasets import load_digits

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    d = load_digits()
    X, y = d.data, d.target
    path = os.path.join(HERE, "digits.csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id"] + [f"p{j}" for j in range(X.shape[1])] + ["digit"])
        for i, (row, label) in enumerate(zip(X, y), start=1):
            w.writerow([i] + [int(v) for v in row] + [int(label)])
    print(f"wrote {path}: {X.shape[0]} rows, {X.shape[1]} pixels")


if __name__ == "__main__":
    main()
