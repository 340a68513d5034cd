//! The command line as a whole: usage errors and the config file, never waiting without a
//! terminal, and output to a closed pipe or a full device.

mod no_terminal;
mod output;
mod usage;
