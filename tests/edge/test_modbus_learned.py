"""The refused blocks a Modbus device taught the driver, kept across restarts and forgotten
when the device's register configuration changes."""

from pathlib import Path

from edge.drivers.modbus.learned import LearnedSplits
from edge.drivers.modbus.planner import plan_reads
from simulators.modbus.testing import press_device


def test_a_refused_block_is_kept_for_the_same_configuration_only(tmp_path: Path) -> None:
    dev = press_device(1502, ["state", "spindle_speed", "temperature"])
    (block,) = plan_reads(dev.tags, dev.limits, dev.addressing)
    LearnedSplits(tmp_path, dev).remember(block)
    assert LearnedSplits(tmp_path, dev).load() == {"state", "spindle_speed", "temperature"}
    # another connection (same registers): still valid
    moved = press_device(1503, ["state", "spindle_speed", "temperature"])
    assert LearnedSplits(tmp_path, moved).load() == {"state", "spindle_speed", "temperature"}
    # a changed tag list, addressing or limits: learn again
    assert LearnedSplits(tmp_path, press_device(1502, ["state", "spindle_speed"])).load() == set()
    one_based = press_device(1502, ["spindle_speed", "temperature"], addressing=1)
    assert LearnedSplits(tmp_path, one_based).load() == set()
    narrow = press_device(1502, ["state", "spindle_speed", "temperature"], limits={"max_gap": 0})
    assert LearnedSplits(tmp_path, narrow).load() == set()


def test_an_unreadable_file_is_ignored(tmp_path: Path) -> None:
    dev = press_device(1502, ["state", "temperature"])
    store = LearnedSplits(tmp_path, dev)
    store.path.parent.mkdir(parents=True)
    store.path.write_text("{not json")
    assert store.load() == set()
    (block,) = plan_reads(dev.tags, dev.limits, dev.addressing)
    store.remember(block)  # and replaced by the next thing learned
    assert LearnedSplits(tmp_path, dev).load() == {"state", "temperature"}
