// Process-wide logging setup for tidewatchd: spdlog's default logger on stderr (the
// journal or the container runtime collects it), at a level, as plain text or as JSON
// lines for log shippers.
//
// Error paths that can repeat per message or request are rate-limited where they log
// (ingest/internal/log_limiter.h), not here.
//
// Thread safety: the first ConfigureLogging() installs the logger and must come before
// other threads log; later calls (a SIGHUP reload) may run while they do.
#ifndef TIDEWATCH_DAEMON_LOGGING_H_
#define TIDEWATCH_DAEMON_LOGGING_H_

#include "daemon/config.h"

namespace tidewatch::daemon {

// Plain: "2026-11-21T10:00:00.123Z info  tidewatchd: listening on 127.0.0.1:8086".
// JSON: {"time":"2026-11-21T10:00:00.123Z","level":"info","msg":"listening on ..."}
// one object per line, the message escaped as a JSON string. Times are UTC.
void ConfigureLogging(const LogConfig& config);

}  // namespace tidewatch::daemon

#endif  // TIDEWATCH_DAEMON_LOGGING_H_
