"""The Stasis call controller: ARI events in, ACD engine inputs; engine decisions in,
ARI requests out. The only layer that knows both the engine and Asterisk."""
