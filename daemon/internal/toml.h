// toml++ (header-only) for the config reader, with its warnings silenced: it is third-
// party code and our warning flags (-Wconversion, -Wold-style-cast, ...) are not its.
// Errors come back as values (TOML_EXCEPTIONS 0), as everywhere else in the project.
// Include only this header, never <toml++/toml.h> directly.
#ifndef TIDEWATCH_DAEMON_INTERNAL_TOML_H_
#define TIDEWATCH_DAEMON_INTERNAL_TOML_H_

#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#define TOML_ENABLE_FORMATTERS 0

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
#pragma GCC diagnostic ignored "-Woverloaded-virtual"
#include <toml++/toml.h>
#pragma GCC diagnostic pop

#endif  // TIDEWATCH_DAEMON_INTERNAL_TOML_H_
