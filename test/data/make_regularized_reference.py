#!/usr/bin/python3
"""Reference coefficients for sql/regularized.sql, from scikit-learn.

The data is the deterministic formula the SQL test builds (g = 1..500);
run with Debian's /usr/bin/python3 (python3-sklearn) and paste the printed
VALUES rows into sql/regularized.sql.
"""
import numpy as np
from sklearn.linear_model import ElasticNet, Lasso

g = np.arange(1, 501, dtype=float)
x1 = np.sin(g)
x2 = np.cos(1.7 * g)
x3 = np.sin(0.3 * g) + 0.5 * np.cos(g)
y = 3 * x1 - 2 * x2 + 0.5 * x3 + 0.1 * np.sin(7.1 * g)
X = np.column_stack([x1, x2, x3])

cases = [
    ("lasso", "lasso", 0.05, 1.0, Lasso(alpha=0.05, tol=1e-12, max_iter=1000000)),
    ("enet", "elastic_net", 0.1, 0.5,
     ElasticNet(alpha=0.1, l1_ratio=0.5, tol=1e-12, max_iter=1000000)),
    ("enet_ridgey", "elastic_net", 0.2, 0.1,
     ElasticNet(alpha=0.2, l1_ratio=0.1, tol=1e-12, max_iter=1000000)),
]
for name, algo, alpha, l1, model in cases:
    model.fit(X, y)
    print("('%s', '%s', %r, %r, %.15g, %.15g, %.15g, %.15g)," % (
        name, algo, alpha, l1, model.intercept_, *model.coef_))
