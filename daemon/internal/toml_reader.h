// TableReader: reads typed values out of one TOML table with errors that name the file,
// line and column, the full key path and what is wrong; reports keys nobody asked for
// (typos must not be ignored), suggesting the nearest known key. ConfigErrors collects
// every error of a file so that one run reports them all.
//
// The same calls also describe the schema: a TableReader made in describe mode reads
// nothing and records, for every key it is asked about, the full key path and the
// current value of the output variable as TOML text. Run over a default config, that is
// the list of known keys with their defaults (config.h KnownConfigKeys) from the very
// code that parses them.
//
// Thread safety: not thread-safe; one reader per thread.
#ifndef TIDEWATCH_DAEMON_INTERNAL_TOML_READER_H_
#define TIDEWATCH_DAEMON_INTERNAL_TOML_READER_H_

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/internal/toml.h"
#include "store/status.h"

namespace tidewatch::daemon::internal {

class ConfigErrors {
 public:
  explicit ConfigErrors(std::string source_name) : source_name_(std::move(source_name)) {}

  // "<source>:<line>:<column>: <path>: <message>" (path omitted when empty); an empty
  // source name omits the position too (tables built in code have none).
  void Add(const toml::source_position& where, std::string_view path, std::string_view message);

  bool empty() const { return errors_.empty(); }

  // kInvalidArgument with every error, one per line, in file order (at most 100, then a
  // count of the rest). REQUIRES: !empty().
  Status ToStatus() const;

 private:
  struct Entry {
    std::uint32_t line;
    std::uint32_t column;
    std::string text;
  };
  std::string source_name_;
  std::vector<Entry> errors_;
};

// (full key path, default value as TOML text; empty when the key has no default).
using KeyDescriptions = std::vector<std::pair<std::string, std::string>>;

template <class E>
struct EnumName {
  std::string_view name;
  E value;
};

class TableReader {
 public:
  // Reads `table`; nullptr means the table is absent and every output keeps its value.
  // `path` is the table's key path ("http", "kafka[0]"; "" for the root).
  TableReader(const toml::table* table, std::string path, ConfigErrors* errors)
      : table_(table), path_(std::move(path)), errors_(errors) {}
  // Describe mode: reads nothing, appends every key asked for to `describe`.
  TableReader(std::string path, KeyDescriptions* describe)
      : path_(std::move(path)), describe_(describe) {}

  TableReader(const TableReader&) = delete;
  TableReader& operator=(const TableReader&) = delete;

  // Each reader below leaves `out` unchanged when the key is absent or its value is
  // wrong (then it records an error); bounds are inclusive.
  void Bool(std::string_view key, bool& out);
  void String(std::string_view key, std::string& out);
  // Absent: an error "missing required key". Empty: an error.
  void RequiredString(std::string_view key, std::string& out);
  // Absent: unset. Empty: an error (leave the key out instead).
  void OptionalString(std::string_view key, std::optional<std::string>& out);
  // Each element a non-empty string, no duplicates. `required`: absent or [] is an
  // error (and the key has no default).
  void StringList(std::string_view key, std::vector<std::string>& out, bool required = false);
  // A table of string values; integers, floats and booleans become their TOML text.
  void StringMap(std::string_view key, std::map<std::string, std::string>& out);
  // A table of durations of at least `min`.
  void DurationMap(std::string_view key, std::map<std::string, std::chrono::nanoseconds>& out,
                   std::chrono::nanoseconds min);
  void Unsigned(std::string_view key, std::uint64_t& out, std::uint64_t min, std::uint64_t max);
  template <class Int>
  void Unsigned(std::string_view key, Int& out, std::uint64_t min, std::uint64_t max) {
    auto value = static_cast<std::uint64_t>(out);
    Unsigned(key, value, min, max);
    out = static_cast<Int>(value);  // within [min, max] <= Int's range, or unchanged
  }
  void Double(std::string_view key, double& out, double min, double max);
  // A string for ParseDuration, in [min, max]. The default max (10 years) keeps
  // "now + duration" in deadlines and leases far from overflowing.
  void Duration(std::string_view key, std::chrono::nanoseconds& out, std::chrono::nanoseconds min,
                std::chrono::nanoseconds max = std::chrono::hours(24 * 365 * 10));
  // A string for ParseSize or a non-negative integer (bytes), in [min, max].
  void Size(std::string_view key, std::uint64_t& out, std::uint64_t min, std::uint64_t max);
  // One of `names` (a string).
  template <class E, std::size_t N>
  void Enum(std::string_view key, E& out, const std::array<EnumName<E>, N>& names) {
    std::array<std::string_view, N> texts;
    std::size_t index = 0;
    for (std::size_t i = 0; i < N; ++i) {
      texts[i] = names[i].name;
      if (names[i].value == out) index = i;
    }
    EnumIndex(key, texts, index);
    out = names[index].value;
  }

  // Reads the sub-table `key` with `fn(TableReader&)`, then reports its unknown keys.
  // Returns whether the table is present (false in describe mode).
  template <class Fn>
  bool Table(std::string_view key, Fn&& fn) {
    if (describe_ != nullptr) {
      TableReader sub(Join(key), describe_);
      fn(sub);
      return false;
    }
    const toml::table* table = SubTable(key);
    TableReader sub(table, Join(key), errors_);
    fn(sub);
    sub.RejectUnknownKeys();
    return table != nullptr;
  }

  // Reads the array of tables `key` ([[key]]): for each, `fn(TableReader&, T&)` on a
  // default T that is then appended to `out`. Describe mode: one call on a default T.
  template <class T, class Fn>
  void TableArray(std::string_view key, std::vector<T>& out, Fn&& fn) {
    if (describe_ != nullptr) {
      TableReader sub(Join(key), describe_);
      T element{};
      fn(sub, element);
      return;
    }
    const std::vector<const toml::table*> tables = SubTables(key);
    for (std::size_t i = 0; i < tables.size(); ++i) {
      TableReader sub(tables[i], Join(key) + "[" + std::to_string(i) + "]", errors_);
      T element{};
      fn(sub, element);
      sub.RejectUnknownKeys();
      out.push_back(std::move(element));
    }
  }

  // Records an error about `key` (at its value, or at the table when absent).
  void Fail(std::string_view key, std::string_view message);
  // Whether `key` is present (always false in describe mode).
  bool Has(std::string_view key) const;
  // Reports every key of the table that no reader above was asked for.
  void RejectUnknownKeys();

  bool describing() const { return describe_ != nullptr; }

 private:
  std::string Join(std::string_view key) const;
  // The value of `key`, marking the key known; nullptr when absent or describing.
  const toml::node* Find(std::string_view key);
  void Describe(std::string_view key, std::string text);
  void Error(const toml::node& node, std::string_view key, std::string_view message);
  void TypeError(const toml::node& node, std::string_view key, std::string_view expected);
  const toml::table* SubTable(std::string_view key);
  std::vector<const toml::table*> SubTables(std::string_view key);
  void EnumIndex(std::string_view key, std::span<const std::string_view> names, std::size_t& index);

  const toml::table* table_ = nullptr;
  std::string path_;
  ConfigErrors* errors_ = nullptr;
  KeyDescriptions* describe_ = nullptr;
  std::vector<std::string> known_;  // keys asked for
};

}  // namespace tidewatch::daemon::internal

#endif  // TIDEWATCH_DAEMON_INTERNAL_TOML_READER_H_
