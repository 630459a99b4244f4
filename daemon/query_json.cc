#include "daemon/query_json.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <type_traits>
#include <variant>

#include "daemon/internal/utf8.h"
#include "store/rfc3339.h"

namespace tidewatch::daemon {
namespace {

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

std::int64_t NanosPerUnit(EpochFormat epoch) {
  switch (epoch) {
    case EpochFormat::kRfc3339:
    case EpochFormat::kNanoseconds:
      return 1;
    case EpochFormat::kMicroseconds:
      return 1'000;
    case EpochFormat::kMilliseconds:
      return 1'000'000;
    case EpochFormat::kSeconds:
      return kNanosPerSecond;
    case EpochFormat::kMinutes:
      return 60 * kNanosPerSecond;
    case EpochFormat::kHours:
      return 3600 * kNanosPerSecond;
  }
  return 1;
}

// Floor division, so times before 1970 land in the right second (and epoch unit).
std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// RFC3339Nano as Go formats it, quoted.
void AppendRfc3339(std::int64_t ns, std::string& out) {
  out.push_back('"');
  store::AppendRfc3339(ns, out);
  out.push_back('"');
}

// Go's strconv.FormatFloat(f, 'g'-ish) as encoding/json uses it: shortest round-trip
// digits; exponent form below 1e-6 and from 1e21, exponent without leading zeros.
void AppendFloat(double value, std::string& out) {
  if (!std::isfinite(value)) {
    out.append("null");
    return;
  }
  char buffer[64];
  const double magnitude = std::fabs(value);
  const bool scientific = magnitude != 0 && (magnitude < 1e-6 || magnitude >= 1e21);
  const auto [end, ec] =
      std::to_chars(buffer, buffer + sizeof buffer, value,
                    scientific ? std::chars_format::scientific : std::chars_format::fixed);
  std::string_view text(buffer, static_cast<std::size_t>(end - buffer));
  if (!scientific) {
    out.append(text);
    return;
  }
  // "1e-07" → "1e-7", as Go writes it.
  const std::size_t e = text.find('e');
  out.append(text.substr(0, e + 2));
  std::string_view digits = text.substr(e + 2);
  while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
  out.append(digits);
}

void AppendInteger(std::int64_t value, std::string& out) {
  char buffer[24];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, end);
}

void AppendValue(const rules::Value& value, EpochFormat epoch, std::string& out) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          out.append("null");
        } else if constexpr (std::is_same_v<T, double>) {
          AppendFloat(v, out);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          AppendInteger(v, out);
        } else if constexpr (std::is_same_v<T, bool>) {
          out.append(v ? "true" : "false");
        } else if constexpr (std::is_same_v<T, std::string>) {
          AppendJsonString(v, out);
        } else {
          AppendTime(v.ns, epoch, out);
        }
      },
      value);
}

void AppendSeries(const rules::ResultSeries& series, std::size_t row_begin, std::size_t row_end,
                  bool partial, EpochFormat epoch, std::string& out) {
  // InfluxDB leaves out an empty name (SHOW SERIES, SHOW RETENTION POLICIES).
  out.push_back('{');
  if (!series.name.empty()) {
    out.append("\"name\":");
    AppendJsonString(series.name, out);
    out.push_back(',');
  }
  if (!series.tags.empty()) {
    out.append("\"tags\":{");
    for (std::size_t i = 0; i < series.tags.size(); ++i) {
      if (i > 0) out.push_back(',');
      AppendJsonString(series.tags[i].first, out);
      out.push_back(':');
      AppendJsonString(series.tags[i].second, out);
    }
    out.append("},");
  }
  out.append("\"columns\":[");
  for (std::size_t i = 0; i < series.columns.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(series.columns[i], out);
  }
  out.push_back(']');
  if (row_end > row_begin) {
    out.append(",\"values\":[");
    for (std::size_t r = row_begin; r < row_end; ++r) {
      if (r > row_begin) out.push_back(',');
      out.push_back('[');
      const auto& row = series.values[r];
      for (std::size_t c = 0; c < row.size(); ++c) {
        if (c > 0) out.push_back(',');
        AppendValue(row[c], epoch, out);
      }
      out.push_back(']');
    }
    out.push_back(']');
  }
  if (partial) out.append(",\"partial\":true");
  out.push_back('}');
}

void AppendStatementHead(const rules::StatementResult& statement, std::string& out) {
  out.append("{\"statement_id\":");
  AppendInteger(statement.statement_id, out);
}

void AppendStatementTail(const rules::StatementResult& statement, bool partial, std::string& out) {
  if (!statement.messages.empty()) {
    out.append(",\"messages\":[");
    for (std::size_t i = 0; i < statement.messages.size(); ++i) {
      if (i > 0) out.push_back(',');
      out.append("{\"level\":\"warning\",\"text\":");
      AppendJsonString(statement.messages[i], out);
      out.push_back('}');
    }
    out.push_back(']');
  }
  if (statement.error) {
    out.append(",\"error\":");
    AppendJsonString(*statement.error, out);
  }
  if (partial) out.append(",\"partial\":true");
  out.push_back('}');
}

// Re-indents compact JSON as Go's json.MarshalIndent(v, "", "    ") lays it out.
std::string Indent(std::string_view compact) {
  std::string out;
  out.reserve(compact.size() * 2);
  int depth = 0;
  bool in_string = false;
  auto newline = [&] {
    out.push_back('\n');
    out.append(static_cast<std::size_t>(depth) * 4, ' ');
  };
  for (std::size_t i = 0; i < compact.size(); ++i) {
    const char c = compact[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\') {
        out.push_back(compact[++i]);
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        out.push_back(c);
        break;
      case '{':
      case '[':
        out.push_back(c);
        if (i + 1 < compact.size() && (compact[i + 1] == '}' || compact[i + 1] == ']')) {
          out.push_back(compact[++i]);  // empty: "{}" / "[]"
        } else {
          ++depth;
          newline();
        }
        break;
      case '}':
      case ']':
        --depth;
        newline();
        out.push_back(c);
        break;
      case ',':
        out.push_back(c);
        newline();
        break;
      case ':':
        out.append(": ");
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string Finish(std::string compact, const JsonOptions& options) {
  return options.pretty ? Indent(compact) : compact;
}

}  // namespace

std::optional<EpochFormat> ParseEpoch(std::string_view text) {
  if (text.empty()) return EpochFormat::kRfc3339;
  if (text == "ns" || text == "n") return EpochFormat::kNanoseconds;
  if (text == "u" || text == "\xC2\xB5") return EpochFormat::kMicroseconds;
  if (text == "ms") return EpochFormat::kMilliseconds;
  if (text == "s") return EpochFormat::kSeconds;
  if (text == "m") return EpochFormat::kMinutes;
  if (text == "h") return EpochFormat::kHours;
  return std::nullopt;
}

void AppendTime(std::int64_t ns, EpochFormat epoch, std::string& out) {
  if (epoch == EpochFormat::kRfc3339) {
    AppendRfc3339(ns, out);
  } else {
    AppendInteger(FloorDiv(ns, NanosPerUnit(epoch)), out);
  }
}

void AppendJsonString(std::string_view text, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t length = internal::Utf8SequenceLength(text, i);
      if (length == 0) {
        out.append("\xEF\xBF\xBD");  // U+FFFD
        ++i;
      } else {
        out.append(text.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (c < 0x20 || c == '<' || c == '>' || c == '&') {
          out.append("\\u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

std::string RenderError(std::string_view message) {
  std::string out = "{\"error\":";
  AppendJsonString(message, out);
  out.push_back('}');
  return out;
}

std::string RenderQueryResult(const rules::QueryResult& result, const JsonOptions& options) {
  std::string out = "{\"results\":[";
  for (std::size_t s = 0; s < result.results.size(); ++s) {
    const rules::StatementResult& statement = result.results[s];
    if (s > 0) out.push_back(',');
    AppendStatementHead(statement, out);
    if (!statement.series.empty()) {
      out.append(",\"series\":[");
      for (std::size_t i = 0; i < statement.series.size(); ++i) {
        if (i > 0) out.push_back(',');
        const rules::ResultSeries& series = statement.series[i];
        AppendSeries(series, 0, series.values.size(), series.partial, options.epoch, out);
      }
      out.push_back(']');
    }
    AppendStatementTail(statement, false, out);
  }
  out.append("]}");
  return Finish(std::move(out), options);
}

namespace internal {

std::string RenderStatementChunk(const rules::StatementResult& statement,
                                 const JsonOptions& options, std::size_t series_begin,
                                 std::size_t row_begin, std::size_t chunk_size,
                                 std::size_t& series_end, std::size_t& row_end) {
  std::string out = "{\"results\":[";
  AppendStatementHead(statement, out);
  std::size_t budget = chunk_size;
  std::size_t s = series_begin;
  std::size_t row = row_begin;
  bool any = false;
  while (s < statement.series.size() && budget > 0) {
    const rules::ResultSeries& series = statement.series[s];
    const std::size_t rows_left = series.values.size() - row;
    const std::size_t take = std::min(rows_left, budget);
    const bool cut = take < rows_left;
    out.append(any ? "," : ",\"series\":[");
    any = true;
    AppendSeries(series, row, row + take, cut || series.partial, options.epoch, out);
    // A series without rows still costs a slot, so a chunk always makes progress.
    budget -= std::max<std::size_t>(take, 1);
    if (cut) {
      row += take;
    } else {
      ++s;
      row = 0;
    }
  }
  if (any) out.push_back(']');
  series_end = s;
  row_end = row;
  AppendStatementTail(statement, s < statement.series.size(), out);
  out.append("]}");
  return Finish(std::move(out), options);
}

}  // namespace internal
}  // namespace tidewatch::daemon
