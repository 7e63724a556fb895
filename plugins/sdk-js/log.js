// Lines into the host's log, tagged by the host with the plugin's name,
// version and pipeline. (console.log writes to the instance's stderr instead,
// which the host need not show.)

import { log } from "fleethost:plugin/log@0.2.0";

export function trace(message) {
  log("trace", String(message));
}

export function debug(message) {
  log("debug", String(message));
}

export function info(message) {
  log("info", String(message));
}

export function warn(message) {
  log("warn", String(message));
}

export function error(message) {
  log("error", String(message));
}
