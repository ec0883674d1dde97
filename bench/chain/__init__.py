"""The chain run: hundreds of simulated stores and a few real edges on a clustered broker and on
one Mosquitto, with a broker node killed and an edge cut off (``make chain``)."""
