"""keyguard watch: the account's live input (user data stream, polls) and its event log (issue 15).

stream.UserDataStream yields Binance's user data stream events and keyguard's own `kind` events;
polls.AccountPoller yields change events of what the stream does not carry; log.EventLog writes both.
"""
