"""Runs pipecat-ai's provider serializers (an independent implementation of each media-stream protocol) on
what the Rust test hands it, for tests/pipecat_serializers.rs.

stdin: {"<provider>": {"rate", "stream_id", "tone": b64 16-bit PCM at rate,
                       "ours": [what we send, each {"text"} or {"binary": b64}],
                       "inbound": [what the provider sends, same shape]}}
stdout: {"<provider>": {"audio": pipecat's message carrying the tone, "clear": pipecat's barge-in message,
                        "parsed_ours": [...], "parsed_inbound": [...]}}
where a message is {"text"} or {"binary": b64} and a parsed frame is {"audio": b64 PCM at rate},
{"dtmf": digit} or null.
"""
import asyncio
import base64
import json
import sys
import types

from pipecat.frames.frames import (InputAudioRawFrame, InputDTMFFrame, InterruptionFrame,
                                   OutputAudioRawFrame)
from pipecat.serializers.exotel import ExotelFrameSerializer
from pipecat.serializers.plivo import PlivoFrameSerializer
from pipecat.serializers.telnyx import TelnyxFrameSerializer
from pipecat.serializers.twilio import TwilioFrameSerializer
from pipecat.serializers.vonage import VonageFrameSerializer


def serializer(provider, stream_id, rate):
    if provider == "twilio":
        return TwilioFrameSerializer(stream_id, params=TwilioFrameSerializer.InputParams(
            sample_rate=rate, auto_hang_up=False))
    if provider == "telnyx":
        return TelnyxFrameSerializer(stream_id, "PCMU", "PCMU", params=TelnyxFrameSerializer.InputParams(
            sample_rate=rate, auto_hang_up=False))
    if provider == "plivo":
        return PlivoFrameSerializer(stream_id, params=PlivoFrameSerializer.InputParams(
            sample_rate=rate, auto_hang_up=False))
    if provider == "exotel":
        return ExotelFrameSerializer(stream_id, params=ExotelFrameSerializer.InputParams(sample_rate=rate))
    if provider == "vonage":
        return VonageFrameSerializer(params=VonageFrameSerializer.InputParams(
            sample_rate=rate, vonage_sample_rate=rate))
    raise SystemExit(f"unknown provider {provider}")


def wire(message):
    if message is None:
        return None
    if isinstance(message, (bytes, bytearray)):
        return {"binary": base64.b64encode(message).decode()}
    return {"text": message}


def unwire(message):
    return base64.b64decode(message["binary"]) if "binary" in message else message["text"]


def frame(f):
    if isinstance(f, InputAudioRawFrame):
        return {"audio": base64.b64encode(f.audio).decode(), "rate": f.sample_rate}
    if isinstance(f, InputDTMFFrame):
        return {"dtmf": f.button.value}
    return None


async def check(provider, case):
    rate = case["rate"]
    s = serializer(provider, case["stream_id"], rate)
    await s.setup(types.SimpleNamespace(audio_in_sample_rate=rate, audio_out_sample_rate=rate))
    tone = base64.b64decode(case["tone"])
    audio = await s.serialize(OutputAudioRawFrame(audio=tone, sample_rate=rate, num_channels=1))
    clear = await s.serialize(InterruptionFrame())
    parsed_ours = [frame(await s.deserialize(unwire(m))) for m in case["ours"]]
    parsed_inbound = [frame(await s.deserialize(unwire(m))) for m in case["inbound"]]
    return {"audio": wire(audio), "clear": wire(clear), "parsed_ours": parsed_ours,
            "parsed_inbound": parsed_inbound}


async def main():
    cases = json.load(sys.stdin)
    out = {p: await check(p, c) for p, c in cases.items()}
    json.dump(out, sys.stdout)


asyncio.run(main())
