// PrometheusTextWriter: builds a /metrics page in the Prometheus text exposition
// format (version 0.0.4), the one `promtool check metrics` and every Prometheus
// server read.
//
//   PrometheusTextWriter w;
//   w.Family("tidewatch_ingest_messages_total", "Kafka messages consumed.", MetricType::kCounter);
//   w.Sample({{"source", "plant"}}, stats.messages);
//   std::string page = std::move(w).Finish();
//
// Family() selects the family later samples belong to, creating it on first use; calling
// it again with the same name selects it again, so a loop over sources may open the same
// families once per source and the page still lists each family once, HELP and TYPE
// first and all its samples together (Prometheus requires that grouping). Families
// appear in the order they were first opened; a family without samples is left out.
//
// Names. Metric and label names must match Prometheus' grammar
// ([a-zA-Z_:][a-zA-Z0-9_:]* and [a-zA-Z_][a-zA-Z0-9_]*, label names not starting with
// "__"), counters end in "_total" and nothing else does, no sample takes the label "le"
// (the histogram writer adds it). These come from our code, not from input, so they are checked
// with assert() (debug builds) only. Label values and HELP text may be anything: they are escaped,
// and invalid UTF-8 in label values is replaced by U+FFFD (Prometheus rejects the whole page
// otherwise).
//
// Numbers. Integers print exactly (counters are uint64); doubles print as integers
// without exponent when they are exact integers below 2^53, else in the shortest form
// that reads back to the same double; NaN, +Inf and -Inf as Prometheus spells them.
//
// Thread safety: a writer is a plain value, used by one thread. The free functions are
// thread-safe.
#ifndef TIDEWATCH_DAEMON_PROMETHEUS_TEXT_H_
#define TIDEWATCH_DAEMON_PROMETHEUS_TEXT_H_

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tidewatch::daemon {

enum class MetricType { kCounter, kGauge, kHistogram };

struct Label {
  std::string_view name;
  std::string_view value;
};

// One histogram's data, cumulative as Prometheus wants it.
struct HistogramSample {
  std::span<const double> upper_bounds;              // ascending, finite; no +Inf
  std::span<const std::uint64_t> cumulative_counts;  // per bound: observations <= it
  std::uint64_t count = 0;                           // all observations (the +Inf bucket)
  double sum = 0;                                    // of all observations
};

// Whether `name` is a valid metric name / label name (see the file comment).
bool IsValidMetricName(std::string_view name);
bool IsValidLabelName(std::string_view name);

// Appends `value` as Prometheus writes numbers (see the file comment).
void AppendNumber(std::string& out, double value);
void AppendNumber(std::string& out, std::uint64_t value);
void AppendNumber(std::string& out, std::int64_t value);
// Appends a label value escaped (\\, \", \n) and made valid UTF-8.
void AppendEscapedLabelValue(std::string& out, std::string_view value);
// Appends HELP text escaped (\\, \n).
void AppendEscapedHelp(std::string& out, std::string_view help);

class PrometheusTextWriter {
 public:
  // Selects the family `name`, creating it with `help` and `type` on first use.
  // REQUIRES: a valid metric name; "_total" exactly for counters; the same help and
  // type each time the same name is opened.
  void Family(std::string_view name, std::string_view help, MetricType type);

  // Adds a sample of the current family, named after it.
  // REQUIRES: a counter or gauge family is selected; valid, distinct label names, none
  // of them "le".
  template <class T>
  requires std::integral<T> || std::floating_point<T>
  void Sample(std::initializer_list<Label> labels, T value) {
    Sample(std::span<const Label>(labels.begin(), labels.size()), value);
  }
  template <class T>
  requires std::integral<T> || std::floating_point<T>
  void Sample(std::span<const Label> labels, T value) {
    std::string& out = BeginSample(labels, {});
    if constexpr (std::floating_point<T>) {
      AppendNumber(out, static_cast<double>(value));
    } else if constexpr (std::signed_integral<T>) {
      AppendNumber(out, static_cast<std::int64_t>(value));
    } else {
      AppendNumber(out, static_cast<std::uint64_t>(value));
    }
    out += '\n';
  }

  // Adds one histogram of the current family: a `_bucket` sample per bound plus
  // le="+Inf", then `_sum` and `_count`.
  // REQUIRES: a histogram family is selected; upper_bounds and cumulative_counts have
  // the same size; no label is named "le".
  void Histogram(std::span<const Label> labels, const HistogramSample& histogram);
  void Histogram(std::initializer_list<Label> labels, const HistogramSample& histogram) {
    Histogram(std::span<const Label>(labels.begin(), labels.size()), histogram);
  }

  // The page: every family with at least one sample, in first-opened order.
  std::string Finish() &&;

 private:
  struct FamilyText {
    std::string name;
    std::string help;
    MetricType type;
    std::string samples;  // complete sample lines
  };

  // Appends `<name><suffix>{labels[,le="..."]} ` to the current family's samples and
  // returns them, for the value to follow. `le` empty: no le label.
  std::string& BeginSample(std::span<const Label> labels, std::string_view suffix,
                           std::string_view le = {});

  std::vector<FamilyText> families_;
  std::map<std::string, std::size_t, std::less<>> index_;  // name -> families_ index
  std::size_t current_ = kNone;  // index into families_ of the selected family
  static constexpr std::size_t kNone = ~std::size_t{0};
};

}  // namespace tidewatch::daemon

#endif  // TIDEWATCH_DAEMON_PROMETHEUS_TEXT_H_
