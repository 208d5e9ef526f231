package announcer

import "k8s.io/client-go/tools/record"

// eventCacheSize bounds each of the three LRU caches of client-go's event
// correlator (aggregation, spam filter, series counting), 4,096 entries by
// default. The announcer sends an Event to every Service it starts or stops
// announcing, so with thousands of Services the default caches fill up and
// hold several MiB (≈ 4 MiB at 5,000 Services, measured) for the life of the
// process. 1,024 entries keep the correlator's work for any one burst of a
// thousand Services (repeated Events counted) at a quarter of the memory;
// beyond that the announcer's API client rate limit (50 QPS by default) is
// what bounds Events. The correlator's spam filter forgets a Service once
// 1,024 others had Events since, so a flapping node is held back by
// report's own budget per Service (eventBudget), not by the correlator.
const eventCacheSize = 1024

// eventCorrelation is the Event broadcaster's option that applies
// eventCacheSize.
func eventCorrelation() record.BroadcasterOption {
	return record.WithCorrelatorOptions(record.CorrelatorOptions{LRUCacheSize: eventCacheSize})
}
