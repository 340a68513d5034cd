//! What a new user reaches for after the first steps, tested with the real programs involved:
//!
//! - `completion`: bash, zsh and fish completing from the line being typed (`--store`,
//!   `--identity`, `-w`, `WORKSPACE/ID`, types, field codes, member names);
//! - `formats`: every `.env` format read back by its real reader (python-dotenv, direnv, node's
//!   dotenv package, `node --env-file`, the docker CLI), or refused with the variables named;
//!   `--output FILE` written whole with mode 0600;
//! - `agent`: `ohx unlock` / `ohx lock` and the agent that keeps the key in memory only;
//! - `newcomer`: names, help that teaches, the default workspace;
//! - `scripting`: `--json` on writes and `env`, `get` for viewers, `member add` by name, the
//!   rotation mark;
//! - `readers`: finding those readers, or skipping with the reason.

mod agent;
mod completion;
mod formats;
mod newcomer;
mod readers;
mod scripting;
