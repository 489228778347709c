#!/usr/bin/python3
"""Fixtures and scikit-learn references for sql/classifiers.sql.

Run with Debian's /usr/bin/python3 (python3-sklearn 1.2, numpy) from any
directory; it rewrites the CSV files next to this script:

  breast_cancer.csv      the raw data (569 rows, 30 features, y 0/1 as
                         scikit-learn codes it: 1 = benign) and a fixed,
                         stratified split is_test (30 %, seed 20240)
  breast_cancer_std.csv  the same rows z-scored over all rows (StandardScaler,
                         population standard deviation), full precision
  iris.csv               the raw data, species as text, and a split is_test
  wine.csv               the raw data (class 0/1/2) and a split is_test
  wine_std.csv           z-scored over all rows, full precision
  reference_coefficients.csv
                         dataset, class, feature, value: every coefficient and
                         intercept of LogisticRegression fitted on all rows
                           bc_l2:        breast_cancer_std, C = 1 (binary:
                                         class is the second label, 1)
                           iris_softmax: iris, multinomial, C = 1
                           wine_softmax: wine_std, multinomial, C = 0.5
  reference_svm.csv      dataset, train_rows, test_rows, accuracy of
                         Pipeline(StandardScaler(), LinearSVC(C = 1,
                         dual = True, max_iter = 100000)) trained on the
                         is_test = false rows, scored on the is_test rows

mtcars.csv and binary.csv (R's glm examples) are plain copies of
shared/data/logit; the R answers are in the SQL test.

The references are scikit-learn's newton-cg answers at tol 1e-8 (it stops on
the largest absolute gradient entry; lbfgs stops on a relative change of the
objective and is only ~1e-4 accurate here).  The script recomputes the
gradient and Hessian of the objective and checks that one exact Newton step
moves no value by more than 1e-7 relative (it prints the actual ~1e-8), so
the SQL test's 1e-6 bound is meaningful.
modelmgr's objectives: sum of log losses + (l2 / 2) ||W||^2 with l2 = 1 / C
and unpenalized intercepts, which is scikit-learn's objective divided by C.
For softmax both normalize the intercepts to sum to zero (scikit-learn by
starting at zero and moving along gradients that sum to zero).
"""
import os
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

HERE = os.path.dirname(os.path.abspath(__file__))
SPLIT_SEED = 20240


def snake(name):
    return name.replace(" ", "_").replace("/", "_")


def fmt(v):
    return "%.17g" % v


def write_csv(fname, header, rows):
    with open(os.path.join(HERE, fname), "w") as f:
        f.write(",".join(header) + "\n")
        for r in rows:
            f.write(",".join(r) + "\n")


def split(y):
    idx = np.arange(len(y))
    _, test_idx = train_test_split(idx, test_size=0.3, random_state=SPLIT_SEED, stratify=y)
    is_test = np.zeros(len(y), dtype=bool)
    is_test[test_idx] = True
    return is_test


def softmax(Z):
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


def design(X):
    return np.hstack([X, np.ones((X.shape[0], 1))])


def gradient_hessian(X, y, coef, intercept, C):
    """Gradient and Hessian of sum(log loss) + 1/(2C) ||W||^2 at (coef,
    intercept); parameters ordered class by class, each class's coefficients
    then its intercept (binary: one class)."""
    n, p = X.shape
    X1 = design(X)
    pen = np.append(np.full(p, 1 / C), 0.0)
    if coef.shape[0] == 1:
        pr = 1 / (1 + np.exp(-(X @ coef[0] + intercept[0])))
        g = X1.T @ (pr - y) + pen * np.append(coef[0], 0.0)
        H = X1.T @ (X1 * (pr * (1 - pr))[:, None]) + np.diag(pen)
        return g, H
    K = coef.shape[0]
    Y = (y[:, None] == np.unique(y)[None, :]).astype(float)
    P = softmax(X @ coef.T + intercept)
    W = np.hstack([coef, intercept[:, None]])
    g = np.concatenate([X1.T @ (P[:, k] - Y[:, k]) + pen * W[k] for k in range(K)])
    H = np.zeros((K * (p + 1), K * (p + 1)))
    for a in range(K):
        for c in range(K):
            w = P[:, a] * ((a == c) - P[:, c])
            H[a * (p + 1):(a + 1) * (p + 1), c * (p + 1):(c + 1) * (p + 1)] = X1.T @ (X1 * w[:, None])
        H[a * (p + 1):(a + 1) * (p + 1), a * (p + 1):(a + 1) * (p + 1)] += np.diag(pen)
    return g, H


def fit_logistic(X, y, C, multinomial):
    """scikit-learn's newton-cg answer, and how far it is from the exact
    optimum: one exact Newton step (least squares, as the softmax Hessian is
    singular along equal shifts of the intercepts) from it, relative to
    max(|value|, 1e-3) as in the SQL test.  newton-cg stops on the largest
    gradient entry; below tol 1e-8 its line search stalls at ~1e-9."""
    kw = dict(C=C, multi_class="multinomial" if multinomial else "ovr")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = LogisticRegression(solver="newton-cg", tol=1e-8, max_iter=100000, **kw).fit(X, y)
    g, H = gradient_hessian(X, y, m.coef_, m.intercept_, C)
    step = np.linalg.lstsq(H, g, rcond=None)[0]
    b = np.hstack([m.coef_, m.intercept_[:, None]]).ravel()
    rel = (np.abs(step) / np.maximum(np.abs(b), 1e-3)).max()
    assert rel < 1e-7, rel
    return m, np.abs(g).max(), rel


def main():
    coef_rows = []
    svm_rows = []

    # ---- breast cancer ----------------------------------------------------
    bc = load_breast_cancer()
    names = [snake(n) for n in bc.feature_names]
    X, y = bc.data, bc.target
    is_test = split(y)
    write_csv("breast_cancer.csv", names + ["y", "is_test"],
              [[repr(float(v)) for v in X[i]] + [str(y[i]), "true" if is_test[i] else "false"]
               for i in range(len(y))])
    Xs = StandardScaler().fit_transform(X)
    write_csv("breast_cancer_std.csv", names + ["y"],
              [[fmt(v) for v in Xs[i]] + [str(y[i])] for i in range(len(y))])
    m, gmax, dist = fit_logistic(Xs, y, 1.0, False)
    print("bc_l2: max |gradient| %.3g, relative distance to the optimum %.3g" % (gmax, dist))
    cls = str(m.classes_[1])
    coef_rows += [["bc_l2", cls, n, fmt(v)] for n, v in zip(names, m.coef_[0])]
    coef_rows.append(["bc_l2", cls, "(intercept)", fmt(m.intercept_[0])])
    svm = make_pipeline(StandardScaler(), LinearSVC(C=1, dual=True, max_iter=100000))
    svm.fit(X[~is_test], y[~is_test])
    svm_rows.append(["breast_cancer", str((~is_test).sum()), str(is_test.sum()),
                     fmt(svm.score(X[is_test], y[is_test]))])

    # ---- iris -------------------------------------------------------------
    ir = load_iris()
    names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    X, y = ir.data, ir.target
    species = np.array(ir.target_names)[y]
    is_test = split(y)
    write_csv("iris.csv", names + ["species", "is_test"],
              [[repr(float(v)) for v in X[i]] + [species[i], "true" if is_test[i] else "false"]
               for i in range(len(y))])
    # text labels sort as the codes do: setosa < versicolor < virginica
    m, gmax, dist = fit_logistic(X, species, 1.0, True)
    print("iris_softmax: max |gradient| %.3g, relative distance to the optimum %.3g, "
          "sum of intercepts %.3g" % (gmax, dist, m.intercept_.sum()))
    for k, c in enumerate(m.classes_):
        coef_rows += [["iris_softmax", str(c), n, fmt(v)] for n, v in zip(names, m.coef_[k])]
        coef_rows.append(["iris_softmax", str(c), "(intercept)", fmt(m.intercept_[k])])

    # ---- wine -------------------------------------------------------------
    wi = load_wine()
    names = [snake(n) for n in wi.feature_names]
    X, y = wi.data, wi.target
    is_test = split(y)
    write_csv("wine.csv", names + ["class", "is_test"],
              [[repr(float(v)) for v in X[i]] + [str(y[i]), "true" if is_test[i] else "false"]
               for i in range(len(y))])
    Xs = StandardScaler().fit_transform(X)
    write_csv("wine_std.csv", names + ["class"],
              [[fmt(v) for v in Xs[i]] + [str(y[i])] for i in range(len(y))])
    m, gmax, dist = fit_logistic(Xs, y, 0.5, True)
    print("wine_softmax: max |gradient| %.3g, relative distance to the optimum %.3g, "
          "sum of intercepts %.3g" % (gmax, dist, m.intercept_.sum()))
    for k, c in enumerate(m.classes_):
        coef_rows += [["wine_softmax", str(c), n, fmt(v)] for n, v in zip(names, m.coef_[k])]
        coef_rows.append(["wine_softmax", str(c), "(intercept)", fmt(m.intercept_[k])])
    svm = make_pipeline(StandardScaler(), LinearSVC(C=1, dual=True, max_iter=100000))
    svm.fit(X[~is_test], y[~is_test])
    svm_rows.append(["wine", str((~is_test).sum()), str(is_test.sum()),
                     fmt(svm.score(X[is_test], y[is_test]))])

    write_csv("reference_coefficients.csv", ["dataset", "class", "feature", "value"], coef_rows)
    write_csv("reference_svm.csv", ["dataset", "train_rows", "test_rows", "accuracy"], svm_rows)
    for r in svm_rows:
        print("svm %s: train %s, test %s, accuracy %s" % tuple(r))


if __name__ == "__main__":
    main()
