# The collective's members: who may sign in (email), their API key for
# agents and CLI tools, and how fast they may call the engines.
#
# In the sovereign repository the key files under keys/ are published
# EXAMPLES, so that the reference blueprints build offline; `sovereign init`
# writes fresh random ones. Replace these example members with your own.

member "alice" {
  email   = "alice@example.org"
  api_key = secret_file("gateway/keys/alice.key")
  # A coding agent fires bursts of tool calls.
  requests_per_minute = 120
  burst               = 40
}

member "bob" {
  email   = "bob@example.org"
  api_key = secret_file("gateway/keys/bob.key")
}

# Browser only: no API key.
member "carol" {
  email               = "carol@example.org"
  requests_per_minute = 30
}
