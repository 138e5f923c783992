"""``dr2bench train-ddpm --data DIR --out DIR [--size S] [--steps N] ...``: train a demo DDPM."""

from __future__ import annotations

import argparse
import logging

from dr2.train import add_train_arguments, config_from_args, train


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_train_arguments(parser)


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    print(train(config_from_args(args)))
    return 0
