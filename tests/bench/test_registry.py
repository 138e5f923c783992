from __future__ import annotations

from dataclasses import dataclass

import pytest

from bench.contracts import Restorer
from bench.registry import DATASETS, RESTORERS, Registry, RegistryError, split_tag


class Dummy(Restorer):
    version = 2
    description = "A dummy restorer"
    tags = {"strong": {"strength": 5}}

    @dataclass(frozen=True)
    class Params:
        strength: int = 1

    def restore(self, images, seeds):
        return images


class NotARestorer:
    pass


@pytest.fixture
def registry() -> Registry:
    reg: Registry = Registry("restorer", "bench.contracts:Restorer", "dr2bench.nothing-here")
    reg.register("dummy", Dummy)
    return reg


def test_register_and_create_with_tag(registry):
    assert registry.get("dummy") is Dummy
    plugin = registry.create("dummy.strong")
    assert plugin.params.strength == 5
    assert plugin.name == "dummy.strong"
    assert registry.create("dummy.strong", strength=7).params.strength == 7
    assert "dummy.strong" in registry and "other" not in registry


def test_collision_is_an_error(registry):
    with pytest.raises(RegistryError, match="registered twice"):
        registry.register("dummy", Dummy)


def test_unknown_name_suggests(registry):
    with pytest.raises(RegistryError, match="unknown restorer 'dumy'; did you mean 'dummy'"):
        registry.get("dumy")


def test_unknown_tag_lists_tags(registry):
    with pytest.raises(RegistryError, match="unknown tag 'strnog'.*did you mean 'strong'"):
        registry.create("dummy.strnog")


def test_unknown_parameter_suggests(registry):
    with pytest.raises(ValueError, match="unknown key 'strenght'; did you mean 'strength'"):
        registry.create("dummy", strenght=3)


def test_lazy_entry_loads_on_demand():
    from bench.datasets import FolderDataset

    registry: Registry = Registry("dataset", "bench.contracts:Dataset", "dr2bench.nothing-here")
    registry.register("lazy", "bench.datasets:FolderDataset")
    assert registry.names() == ["lazy"]
    assert registry.get("lazy") is FolderDataset
    assert registry.info("lazy").version == 1


def test_decorator_registration(registry):
    @registry.register("decorated")
    class Decorated(Dummy):
        pass

    assert registry.get("decorated") is Decorated


def test_broken_entries_give_clear_errors(registry):
    registry.register("missing", "no_such_module_xyz:Thing")
    with pytest.raises(RegistryError, match="'missing'.*no_such_module_xyz:Thing.*does not load"):
        registry.get("missing")
    registry.register("wrongbase", NotARestorer)
    with pytest.raises(RegistryError, match="not a subclass of Restorer"):
        registry.get("wrongbase")


@pytest.mark.parametrize("bad", ["", "a.b", " x"])
def test_invalid_names(registry, bad):
    with pytest.raises(RegistryError, match="invalid restorer name"):
        registry.register(bad, Dummy)


def test_split_tag():
    assert split_tag("dr2.n8t35") == ("dr2", "n8t35")
    assert split_tag("identity") == ("identity", None)


def test_builtin_datasets_are_registered():
    assert {"folder", "paired"} <= set(DATASETS.names())
    assert RESTORERS.kind == "restorer"


def test_a_family_name_needs_its_tag():
    from bench.registry import METRICS

    with pytest.raises(RegistryError, match=r"'deg' names a family.*deg\.dlib, deg\.sface"):
        METRICS.create("deg")
    assert METRICS.create("deg.sface").params.backend == "sface"
    for name in ("ids", "ids_input", "lmd"):
        with pytest.raises(RegistryError, match="names a family"):
            METRICS.create(name)
