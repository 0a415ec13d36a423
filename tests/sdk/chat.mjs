// One member's client: the official OpenAI SDK asks the gateway for a
// streamed chat completion, then a plain one, and prints what it read
// (text and the usage the answers carried) as one JSON line.
//
//   node chat.mjs BASE_URL API_KEY MODEL PROMPT
//
// The gateway's certificate comes in through NODE_EXTRA_CA_CERTS.
import OpenAI from 'openai';

const [baseURL, apiKey, model, prompt] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 30000 });
const messages = [{ role: 'user', content: prompt }];

const stream = await client.chat.completions.create({ model, messages, stream: true });
let streamed = '';
let streamUsage = null;
for await (const chunk of stream) {
  // The last chunk has no choices, only the usage.
  if (chunk.choices.length > 0) {
    streamed += chunk.choices[0].delta.content ?? '';
  }
  if (chunk.usage) {
    streamUsage = chunk.usage;
  }
}

const plain = await client.chat.completions.create({ model, messages });
console.log(JSON.stringify({
  stream: { text: streamed, usage: streamUsage },
  plain: { text: plain.choices[0].message.content, usage: plain.usage },
}));
