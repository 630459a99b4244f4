// Decoder throughput alone: the line protocol decoder (ingest/line_protocol.h) and the
// JSON decoder (ingest/json_decoder.h) over realistic payloads held in memory, no Kafka,
// no rings, no store. Reports bytes/s (bytes_per_second), points/s (items_per_second:
// one point per field value) and lines/s (one line or JSON object each).
//
// Benchmarks, each with the number of lines or objects per payload as its argument
// (1: one Telegraf metric per Kafka message, Telegraf's kafka output default; 1000: an
// HTTP /write batch or a batching producer):
//   BM_LineProtocol/N   the Telegraf-like mix of tests/bench/telegraf_lines.h
//   BM_JsonTelegraf/N   the same metrics as Telegraf's JSON serializer writes them,
//                       {"fields":{...},"name":"cpu","tags":{...},"timestamp":1795000000},
//                       mapped with nested keys ("tags.host", "fields.usage_user")
//   BM_JsonFlat/N       a flat IIoT producer's objects,
//                       {"time":1795000000123,"site":"site2","sensor":"pt-017",
//                        "pressure":4.213,"temperature":81.52,"flow":12.75},
//                       tags site and sensor, every other number a field
// Each benchmark cycles through ~10 MB of distinct payloads (larger than L2, within L3,
// as a consumer's fetch buffers are), so branch predictors do not learn one payload.
// The callback sums every value and timestamp so nothing is optimised away, and checks
// that no line was bad.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ingest/json_decoder.h"
#include "ingest/line_protocol.h"
#include "tests/bench/telegraf_lines.h"

namespace tidewatch::bench {
namespace {

using ingest::DecodeCounts;
using ingest::DecodedLine;
using ingest::JsonDecoder;
using ingest::JsonMapping;
using ingest::LineError;
using ingest::LineProtocolDecoder;

constexpr std::size_t kLinesPerRun = 100'000;  // ~10 MB of line protocol
constexpr std::int64_t kBaseTsNs = 1'795'000'000'000'000'000;

struct Corpus {
  std::vector<std::string> payloads;
  std::size_t points = 0;  // over all payloads
  std::size_t lines = 0;
};

// Decodes and tallies; what every benchmark loop calls per payload.
struct Tally {
  double sum = 0;
  std::size_t points = 0;
  std::size_t lines = 0;

  void operator()(const DecodedLine& line) {
    ++lines;
    sum += static_cast<double>(line.ts_ns & 0xff) + static_cast<double>(line.tags.size());
    for (const ingest::DecodedField& field : line.fields) {
      sum += field.value;
      ++points;
    }
  }
};

Corpus LineCorpus(std::size_t lines_per_payload) {
  Corpus corpus;
  for (std::size_t first = 0; first < kLinesPerRun; first += lines_per_payload) {
    std::string payload;
    for (std::size_t i = first; i < first + lines_per_payload; ++i) {
      corpus.points += static_cast<std::size_t>(AppendTelegrafLine(i, kBaseTsNs, payload));
      ++corpus.lines;
    }
    corpus.payloads.push_back(std::move(payload));
  }
  return corpus;
}

void AppendJsonString(std::string_view s, std::string& out) {
  out += '"';
  out += s;  // the generated names and tag values need no escaping
  out += '"';
}

void AppendTelegrafJson(const DecodedLine& line, std::string& out) {
  out += "{\"fields\":{";
  for (std::size_t f = 0; f < line.fields.size(); ++f) {
    if (f > 0) out += ',';
    AppendJsonString(line.fields[f].key, out);
    out += ':';
    if (line.fields[f].type == store::FieldType::kInteger) {
      AppendInt(line.fields[f].integer, out);
    } else {
      AppendDouble(line.fields[f].value, out);
    }
  }
  out += "},\"name\":";
  AppendJsonString(line.measurement, out);
  out += ",\"tags\":{";
  for (std::size_t t = 0; t < line.tags.size(); ++t) {
    if (t > 0) out += ',';
    AppendJsonString(line.tags[t].key, out);
    out += ':';
    AppendJsonString(line.tags[t].value, out);
  }
  out += "},\"timestamp\":";
  AppendInt(line.ts_ns / 1'000'000'000, out);
  out += '}';
}

// The line corpus re-encoded by Telegraf's JSON serializer (json_timestamp_units = 1s).
Corpus TelegrafJsonCorpus(std::size_t objects_per_payload) {
  const Corpus lines = LineCorpus(objects_per_payload);
  Corpus corpus;
  LineProtocolDecoder decoder;
  std::vector<LineError> errors;
  for (const std::string& payload : lines.payloads) {
    std::string json = objects_per_payload > 1 ? "[" : "";
    bool first = true;
    decoder.Decode(
        payload, 0,
        [&](const DecodedLine& line) {
          if (!first) json += ',';
          first = false;
          AppendTelegrafJson(line, json);
          corpus.points += line.fields.size();
          ++corpus.lines;
        },
        errors);
    if (objects_per_payload > 1) json += ']';
    corpus.payloads.push_back(std::move(json));
  }
  return corpus;
}

JsonMapping TelegrafJsonMapping() {
  JsonMapping mapping;
  mapping.timestamp_key = "timestamp";
  mapping.timestamp_unit = JsonMapping::TimeUnit::kSeconds;
  mapping.measurement_key = "name";
  mapping.tag_keys = {"tags.cpu",  "tags.dc",     "tags.device", "tags.fstype",
                      "tags.host", "tags.sensor", "tags.site"};
  mapping.field_keys = {"fields.usage_user",   "fields.usage_system", "fields.usage_idle",
                        "fields.usage_iowait", "fields.usage_irq",    "fields.used_percent",
                        "fields.available",    "fields.used",         "fields.inodes_free",
                        "fields.value"};
  return mapping;
}

Corpus FlatJsonCorpus(std::size_t objects_per_payload) {
  Corpus corpus;
  constexpr std::int64_t kBaseMs = kBaseTsNs / 1'000'000;
  for (std::size_t first = 0; first < kLinesPerRun; first += objects_per_payload) {
    std::string json = objects_per_payload > 1 ? "[" : "";
    for (std::size_t i = first; i < first + objects_per_payload; ++i) {
      if (i > first) json += ',';
      const std::uint64_t sensor = i % 250;
      json += "{\"time\":";
      AppendInt(kBaseMs + static_cast<std::int64_t>(i / 250) * 1000, json);
      json += ",\"site\":\"site";
      AppendInt(static_cast<std::int64_t>(sensor % 4 + 1), json);
      json += "\",\"sensor\":\"pt-";
      AppendNumber3(sensor, json);
      json += "\",\"pressure\":";
      AppendDouble(TelegrafValue(i, 0, 10, 3), json);
      json += ",\"temperature\":";
      AppendDouble(TelegrafValue(i, 1, 120, 2), json);
      json += ",\"flow\":";
      AppendDouble(TelegrafValue(i, 2, 50, 2), json);
      json += '}';
      corpus.points += 3;
      ++corpus.lines;
    }
    if (objects_per_payload > 1) json += ']';
    corpus.payloads.push_back(std::move(json));
  }
  return corpus;
}

JsonMapping FlatJsonMapping() {
  JsonMapping mapping;
  mapping.measurement = "plant";
  mapping.tag_keys = {"site", "sensor"};
  return mapping;
}

// Decodes the corpus's payloads round-robin, one per iteration.
template <class Decoder>
void Run(benchmark::State& state, Decoder& decoder, const Corpus& corpus) {
  Tally tally;
  std::vector<LineError> errors;
  std::size_t bytes = 0;
  std::size_t next = 0;
  std::size_t bad = 0;
  for (auto _ : state) {
    const std::string& payload = corpus.payloads[next];
    if (++next == corpus.payloads.size()) next = 0;
    const DecodeCounts counts = decoder.Decode(payload, kBaseTsNs, tally, errors);
    bad += counts.bad_lines;
    bytes += payload.size();
  }
  benchmark::DoNotOptimize(tally.sum);
  if (bad != 0) {
    state.SkipWithError((std::to_string(bad) + " bad lines, first: " +
                         (errors.empty() ? std::string() : errors.front().ToString()))
                            .c_str());
    return;
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.SetItemsProcessed(static_cast<std::int64_t>(tally.points));
  state.counters["lines/s"] =
      benchmark::Counter(static_cast<double>(tally.lines), benchmark::Counter::kIsRate);
  state.counters["bytes/line"] = static_cast<double>(bytes) / static_cast<double>(tally.lines);
}

void BM_LineProtocol(benchmark::State& state) {
  const Corpus corpus = LineCorpus(static_cast<std::size_t>(state.range(0)));
  LineProtocolDecoder decoder;
  Run(state, decoder, corpus);
}

void RunJson(benchmark::State& state, const Corpus& corpus, JsonMapping mapping) {
  StatusOr<JsonDecoder> decoder = JsonDecoder::Create(std::move(mapping));
  if (!decoder.ok()) {
    state.SkipWithError(decoder.status().ToString().c_str());
    return;
  }
  Run(state, *decoder, corpus);
}

void BM_JsonTelegraf(benchmark::State& state) {
  RunJson(state, TelegrafJsonCorpus(static_cast<std::size_t>(state.range(0))),
          TelegrafJsonMapping());
}

void BM_JsonFlat(benchmark::State& state) {
  RunJson(state, FlatJsonCorpus(static_cast<std::size_t>(state.range(0))), FlatJsonMapping());
}

BENCHMARK(BM_LineProtocol)->Arg(1)->Arg(1000);
BENCHMARK(BM_JsonTelegraf)->Arg(1)->Arg(1000);
BENCHMARK(BM_JsonFlat)->Arg(1)->Arg(1000);

}  // namespace
}  // namespace tidewatch::bench

BENCHMARK_MAIN();
