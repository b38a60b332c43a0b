"""Live sessions over WebSocket, in OpenAI's Realtime protocol: audio in as the user speaks,
turns found by voice activity detection, transcripts (and spoken answers) out."""
