package auth

// CounterKey exposes the names of throttling counters to the tests.
var CounterKey = counterKey
