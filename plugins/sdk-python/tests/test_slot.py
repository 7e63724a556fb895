import unittest

from fleethost_plugin import PluginError, Slot


class SlotTest(unittest.TestCase):
    def test_holds_what_init_stored(self):
        slot = Slot("settings")
        self.assertFalse(slot.is_set())
        slot.set({"max": 90.0})
        slot.set({"max": 80.0})
        self.assertTrue(slot.is_set())
        self.assertEqual(slot.get(), {"max": 80.0})
        slot.set(None)
        self.assertIsNone(slot.get())

    def test_read_before_init_is_a_fatal_plugin_error(self):
        with self.assertRaises(PluginError) as raised:
            Slot("settings").get()
        self.assertEqual((raised.exception.message, raised.exception.retryable), ("settings: read before init stored them", False))


if __name__ == "__main__":
    unittest.main()
