import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, PluginConfig } from "../config.js";

const config = (pairs) => new PluginConfig(pairs);

test("absent keys take their default", () => {
  const empty = config([]);
  assert.equal(empty.number("max_speed_kmh", 90), 90);
  assert.equal(empty.string("alerts_topic", "speed-alerts"), "speed-alerts");
  assert.equal(empty.boolean("publish", true), true);
  assert.equal(empty.integer("n", 3), 3);
});

test("numbers are read like Rust's f64, blanks around them ignored", () => {
  for (const [text, value] of [["120", 120], [" 7.5 ", 7.5], ["-3", -3], ["1e3", 1000], [".5", 0.5], ["5.", 5], ["+2", 2]]) {
    assert.equal(config([["max_speed_kmh", text]]).number("max_speed_kmh", 90), value, text);
  }
});

test("a value that is not a number names the key and the value", () => {
  for (const text of ["fast", "", "0x10", "Infinity", "nan", "1e999", "1,5", "90 km/h"]) {
    assert.throws(
      () => config([["max_speed_kmh", text]]).number("max_speed_kmh", 90),
      (error) => error instanceof ConfigError && error.message === `max_speed_kmh: not a number: ${JSON.stringify(text)}`,
      text,
    );
  }
});

test("bounds, integers, booleans and empty text", () => {
  assert.throws(() => config([["r", "0"]]).positive("r", 1), { message: 'r: not a number > 0: "0"' });
  assert.throws(() => config([["r", "2"]]).atLeast("r", 5, 3), { message: 'r: not a number >= 3: "2"' });
  assert.equal(config([["r", "3"]]).atLeast("r", 5, 3), 3);
  assert.equal(config([["n", " 42 "]]).integer("n", 0), 42);
  assert.throws(() => config([["n", "4.2"]]).integer("n", 0), { message: 'n: not an integer: "4.2"' });
  assert.equal(config([["p", "false"]]).boolean("p", true), false);
  assert.throws(() => config([["p", "yes"]]).boolean("p", true), { message: 'p: not true or false: "yes"' });
  assert.throws(() => config([["t", "  "]]).nonEmpty("t", "x"), { message: "t: must not be empty" });
});

test("the first unknown key, in the order given, is refused", () => {
  const pairs = config([["alerts_topic", "a"], ["max_sped_kmh", "1"], ["zz", "2"]]);
  assert.throws(() => pairs.rejectUnknown(["max_speed_kmh", "alerts_topic"]), {
    name: "ConfigError",
    message: 'unknown config key "max_sped_kmh"',
  });
  assert.doesNotThrow(() => config([["alerts_topic", "a"]]).rejectUnknown(["alerts_topic"]));
});

test("a later duplicate key wins; keys keep their order", () => {
  const pairs = config([["a", "1"], ["b", "2"], ["a", "3"]]);
  assert.equal(pairs.string("a"), "3");
  assert.deepEqual(pairs.keys(), ["a", "b"]);
  assert.equal(PluginConfig.fromObject({ n: 5 }).number("n", 0), 5);
});
